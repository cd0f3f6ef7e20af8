package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/client/config"
)

func TestResolve_FlagsThenEnvironmentThenContext(t *testing.T) {
	f := &config.File{CurrentContext: "local", Contexts: []config.Context{
		{Name: "local", Server: "http://local:8080", Token: "local-token", Workspace: "ws-local", User: "alice"},
		{Name: "prod", Server: "https://prod", Token: "prod-token", Workspace: "ws-prod"},
	}}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		name  string
		flags config.Connection
		env   map[string]string
		want  config.Connection
	}{
		{"current context", config.Connection{}, nil,
			config.Connection{Server: "http://local:8080", Token: "local-token", Workspace: "ws-local", User: "alice", Context: "local"}},
		{"environment over context", config.Connection{}, map[string]string{"GATEHOUSE_WORKSPACE": "ws-env", "GATEHOUSE_TOKEN": "env-token"},
			config.Connection{Server: "http://local:8080", Token: "env-token", Workspace: "ws-env", User: "alice", Context: "local"}},
		{"flags over environment", config.Connection{Workspace: "ws-flag"}, map[string]string{"GATEHOUSE_WORKSPACE": "ws-env"},
			config.Connection{Server: "http://local:8080", Token: "local-token", Workspace: "ws-flag", User: "alice", Context: "local"}},
		{"context by flag", config.Connection{Context: "prod"}, nil,
			config.Connection{Server: "https://prod", Token: "prod-token", Workspace: "ws-prod", Context: "prod"}},
		{"context by environment", config.Connection{}, map[string]string{"GATEHOUSE_CONTEXT": "prod"},
			config.Connection{Server: "https://prod", Token: "prod-token", Workspace: "ws-prod", Context: "prod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env = tc.env
			got, err := config.Resolve(tc.flags, getenv, f)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	env = nil
	if _, err := config.Resolve(config.Connection{Context: "staging"}, getenv, f); err == nil || !strings.Contains(err.Error(), "local, prod") {
		t.Errorf("unknown context: %v", err)
	}
	if got, err := config.Resolve(config.Connection{}, getenv, &config.File{}); err != nil || got != (config.Connection{}) {
		t.Errorf("no config file: %+v %v", got, err)
	}
}

func TestFile_SaveLoadUseSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse", "config.yaml")
	f, err := config.Load(path)
	if err != nil || len(f.Contexts) != 0 {
		t.Fatalf("missing file: %+v %v", f, err)
	}
	f.Set(config.Context{Name: "local", Server: "http://a", Token: "t1"})
	f.Set(config.Context{Name: "prod", Server: "https://b"})
	f.Set(config.Context{Name: "local", Workspace: "ws"})
	if err := f.Use("prod"); err != nil {
		t.Fatal(err)
	}
	if err := f.Use("nope"); err == nil {
		t.Error("use of a missing context succeeded")
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v (%v), want 0600: it holds tokens", info.Mode().Perm(), err)
	}
	back, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &config.File{CurrentContext: "prod", Contexts: []config.Context{
		{Name: "local", Server: "http://a", Token: "t1", Workspace: "ws"}, {Name: "prod", Server: "https://b"}}}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("loaded %+v, want %+v", back, want)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "current-context: prod") {
		t.Errorf("file:\n%s", raw)
	}

	if err := os.WriteFile(path, []byte("current-context: x\ncontexts:\n  - name: x\n    sever: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path); err == nil || !strings.Contains(err.Error(), "sever") {
		t.Errorf("a misspelt key: %v", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := config.Load(path); err != nil || f.CurrentContext != "" {
		t.Errorf("an empty file: %+v %v", f, err)
	}
}
