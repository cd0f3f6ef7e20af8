// Package config reads and writes the CLI's config file, which names
// servers as contexts (as kubectl does), and settles which server, token
// and workspace a command uses: flags first, then GATEHOUSE_* environment
// variables, then the chosen context.
//
//	current-context: local
//	contexts:
//	  - name: local
//	    server: http://127.0.0.1:8080
//	    token: s3cret
//	    workspace: 11111111-1111-1111-1111-111111111111
//	    user: alice
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Context is one named connection.
type Context struct {
	Name      string `yaml:"name"`
	Server    string `yaml:"server,omitempty"`
	Token     string `yaml:"token,omitempty"`
	Workspace string `yaml:"workspace,omitempty"`
	// User is who approvals are recorded for.
	User string `yaml:"user,omitempty"`
}

// File is the config file.
type File struct {
	CurrentContext string    `yaml:"current-context,omitempty"`
	Contexts       []Context `yaml:"contexts,omitempty"`
}

// DefaultPath returns where the config file lives: $GATEHOUSE_CONFIG, else
// gatehouse/config.yaml under $XDG_CONFIG_HOME, else under ~/.config.
func DefaultPath() string {
	if p := os.Getenv("GATEHOUSE_CONFIG"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(".config", "gatehouse", "config.yaml")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "gatehouse", "config.yaml")
}

// Load reads the config file at path; a missing file is an empty config.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	f := &File{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file decodes to io.EOF: an empty config.
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return f, nil
}

// Save writes the config file at path, readable by its owner only (it may
// hold tokens).
func (f *File) Save(path string) error {
	data, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// Context returns the context called name, or the current one when name is
// empty; nil (and no error) when name is empty and there is no current
// context.
func (f *File) Context(name string) (*Context, error) {
	if name == "" {
		name = f.CurrentContext
		if name == "" {
			return nil, nil
		}
	}
	for i := range f.Contexts {
		if f.Contexts[i].Name == name {
			return &f.Contexts[i], nil
		}
	}
	return nil, fmt.Errorf("no context named %q in the config file (contexts: %s)", name, f.names())
}

// Use makes the context called name the current one.
func (f *File) Use(name string) error {
	if _, err := f.Context(name); err != nil {
		return err
	}
	f.CurrentContext = name
	return nil
}

// Set adds c, or replaces the fields c sets of the context with its name.
func (f *File) Set(c Context) {
	for i := range f.Contexts {
		old := &f.Contexts[i]
		if old.Name != c.Name {
			continue
		}
		setIf(&old.Server, c.Server)
		setIf(&old.Token, c.Token)
		setIf(&old.Workspace, c.Workspace)
		setIf(&old.User, c.User)
		return
	}
	f.Contexts = append(f.Contexts, c)
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func (f *File) names() string {
	if len(f.Contexts) == 0 {
		return "none"
	}
	names := make([]string, len(f.Contexts))
	for i, c := range f.Contexts {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// Connection is what a command connects with.
type Connection struct {
	Server, Token, Workspace, User string
	// Context is the context the values came from, if any.
	Context string
}

// Resolve settles each field of the connection: the flag when set, else
// the environment variable (GATEHOUSE_SERVER, GATEHOUSE_TOKEN,
// GATEHOUSE_WORKSPACE, GATEHOUSE_USER), else the context (flags.Context,
// GATEHOUSE_CONTEXT, or the file's current context).
func Resolve(flags Connection, env func(string) string, f *File) (Connection, error) {
	name := first(flags.Context, env("GATEHOUSE_CONTEXT"))
	ctx, err := f.Context(name)
	if err != nil {
		return Connection{}, err
	}
	if ctx == nil {
		ctx = &Context{}
	}
	return Connection{
		Server:    first(flags.Server, env("GATEHOUSE_SERVER"), ctx.Server),
		Token:     first(flags.Token, env("GATEHOUSE_TOKEN"), ctx.Token),
		Workspace: first(flags.Workspace, env("GATEHOUSE_WORKSPACE"), ctx.Workspace),
		User:      first(flags.User, env("GATEHOUSE_USER"), ctx.User),
		Context:   ctx.Name,
	}, nil
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
