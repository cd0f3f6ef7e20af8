package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/config"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

// connFlags are the connection flags of every command that talks to a
// server.
type connFlags struct {
	conn       config.Connection
	configPath string
}

// bindConn adds the connection flags to cmd and returns where they land.
func bindConn(cmd *cobra.Command) *connFlags {
	f := &connFlags{}
	fl := cmd.Flags()
	fl.StringVar(&f.conn.Server, "server", "", "server URL (GATEHOUSE_SERVER; default "+client.DefaultServer+")")
	fl.StringVar(&f.conn.Token, "token", "", "bearer token (GATEHOUSE_TOKEN)")
	fl.StringVar(&f.conn.Workspace, "workspace", "", "workspace id (GATEHOUSE_WORKSPACE)")
	fl.StringVar(&f.conn.Context, "context", "", "context of the config file to use (GATEHOUSE_CONTEXT)")
	fl.StringVar(&f.configPath, "config", "", "config file (GATEHOUSE_CONFIG; default ~/.config/gatehouse/config.yaml)")
	return f
}

// session is a resolved connection and its client.
type session struct {
	conn   config.Connection
	client *client.Client
}

// target resolves the release target ref names, reading the entities a
// target name is made of and the kinds in more, which the caller needs too.
func (s *session) target(ctx context.Context, ref string, more ...string) (*workspace.Snapshot, *client.ReleaseTarget, error) {
	snap, err := workspace.Read(ctx, s.client, append([]string{"deployment", "environment", "resource"}, more...)...)
	if err != nil {
		return nil, nil, err
	}
	t, err := workspace.ResolveTarget(ctx, s.client, snap, ref)
	if err != nil {
		return nil, nil, err
	}
	return snap, t, nil
}

// open resolves the connection (flags, then environment, then context) and
// returns a client for it.
func (f *connFlags) open() (*session, error) {
	path := f.configPath
	if path == "" {
		path = config.DefaultPath()
	}
	file, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	conn, err := config.Resolve(f.conn, os.Getenv, file)
	if err != nil {
		return nil, err
	}
	if conn.Workspace == "" {
		return nil, errors.New("no workspace: pass --workspace, set GATEHOUSE_WORKSPACE, or set one in a context (gatehouse config set-context)")
	}
	c, err := client.New(client.Options{Server: conn.Server, Token: conn.Token, Workspace: conn.Workspace,
		UserAgent: "gatehouse-cli/" + buildVersion(), Retries: 3})
	if err != nil {
		return nil, err
	}
	return &session{conn: conn, client: c}, nil
}

// run returns a RunE that opens a session and runs fn with it, turning the
// errors people hit most into advice.
func (f *connFlags) run(fn func(ctx context.Context, s *session, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := f.open()
		if err != nil {
			return err
		}
		return s.explain(fn(cmd.Context(), s, args))
	}
}

// explain adds what to do to an error: where the server was looked for,
// whether a token was sent.
func (s *session) explain(err error) error {
	var unreachable *client.UnreachableError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unreachable):
		// The context of the failed call matters less than the address.
		return fmt.Errorf("%w\n(is the server running? point at another with --server, GATEHOUSE_SERVER or a context)", unreachable)
	case client.IsStatus(err, http.StatusUnauthorized) && s.conn.Token == "":
		return fmt.Errorf("the server at %s wants a token and none was given: pass --token, set GATEHOUSE_TOKEN or put it in a context", s.client.Server())
	case client.IsStatus(err, http.StatusUnauthorized):
		return fmt.Errorf("the server at %s refused the token: it is wrong for this server (--token, GATEHOUSE_TOKEN or the context's token)", s.client.Server())
	}
	return err
}
