package main

import (
	"context"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// runBinary runs the binary with args and env to its end (bounded, so that
// a server that should have refused to start fails the test instead of
// hanging it) and returns its output and exit code.
func runBinary(t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv(env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("gatehouse %v did not end within 60s:\n%s", args, out)
	}
	if exit, ok := err.(*exec.ExitError); ok {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestServe_EnvironmentIsChecked: a variable that does not parse as its
// flag does fails the start and is named, like a bad flag.
func TestServe_EnvironmentIsChecked(t *testing.T) {
	bin := buildGatehouse(t)
	tests := []struct{ env, want string }{
		{"GATEHOUSE_MAX_BODY_BYTES=lots", "GATEHOUSE_MAX_BODY_BYTES"},
		{"GATEHOUSE_DB_TIMEOUT=soon", "GATEHOUSE_DB_TIMEOUT"},
		{"GATEHOUSE_LOG_FORMAT=xml", "GATEHOUSE_LOG_FORMAT"},
		{"GATEHOUSE_LOG_LEVEL=loud", "GATEHOUSE_LOG_LEVEL"},
		{"GATEHOUSE_SHUTDOWN_TIMEOUT=-1s", "GATEHOUSE_SHUTDOWN_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			out, code := runBinary(t, bin, []string{tt.env}, "serve", "--addr", freeAddr(t), "--db", "memory")
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output %q; want a failure naming %s", code, out, tt.want)
			}
		})
	}
	// A flag on the command line wins over its variable, bad or not: only
	// the bad flag is reported.
	out, code := runBinary(t, bin, []string{"GATEHOUSE_MAX_BODY_BYTES=lots"},
		"serve", "--addr", freeAddr(t), "--db", "memory", "--max-body-bytes", "1024", "--log-format", "xml")
	if code == 0 || !strings.Contains(out, "--log-format") || strings.Contains(out, "GATEHOUSE_MAX_BODY_BYTES") {
		t.Errorf("a bad variable overridden by its flag: exit %d\n%s", code, out)
	}
}

// TestServe_HelpShowsNoSecrets: secrets set in the environment never
// appear in --help as flag defaults.
func TestServe_HelpShowsNoSecrets(t *testing.T) {
	bin := buildGatehouse(t)
	env := []string{"GATEHOUSE_TOKEN=tok-s3cret", "GATEHOUSE_DB=postgres://user:db-s3cret@db.example/gh?password=q-s3cret"}
	for _, cmd := range []string{"serve", "migrate", "reseal"} {
		out, code := runBinary(t, bin, env, cmd, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d\n%s", cmd, code, out)
		}
		if strings.Contains(out, "s3cret") {
			t.Errorf("%s --help shows a secret from the environment:\n%s", cmd, out)
		}
	}
}

// TestServe_LogsNoDatabaseCredentials starts the server on PostgreSQL with
// passwords in every place a connection string holds one (the test server
// trusts local connections, so any password works): the log names the
// database but shows none of them; nor does the error of a start that
// fails.
func TestServe_LogsNoDatabaseCredentials(t *testing.T) {
	bin := buildGatehouse(t)
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "pw-userinfo")
	q := u.Query()
	q.Set("password", "pw-query")
	u.RawQuery = q.Encode()
	withPasswords := u.String()
	keywords := "host=" + u.Hostname() + " port=" + u.Port() + " dbname=" + strings.TrimPrefix(u.Path, "/") +
		" user=" + u.User.Username() + " password=pw-keyword sslmode=disable"

	for name, db := range map[string]string{"url": withPasswords, "keyword/value": keywords} {
		t.Run(name, func(t *testing.T) {
			srv := launchServer(t, bin, []string{"GATEHOUSE_DB=" + db})
			waitReady(t, srv.addr, srv.exited)
			// The line is written just after the listener answers.
			waitFor(t, "the serving line", func() bool { return strings.Contains(srv.log(t), "msg=serving") })
			log := srv.log(t)
			if !strings.Contains(log, strings.TrimPrefix(u.Path, "/")) {
				t.Errorf("the log does not name the database:\n%s", log)
			}
			if strings.Contains(log, "pw-") {
				t.Errorf("the log shows a database password:\n%s", log)
			}
		})
	}
	t.Run("failed start", func(t *testing.T) {
		down := strings.Replace(withPasswords, u.Host, "127.0.0.1:1", 1)
		out, code := runBinary(t, bin, nil, "serve", "--addr", freeAddr(t), "--db", down)
		if code == 0 || strings.Contains(out, "pw-") {
			t.Errorf("exit %d; the error must not show a password:\n%s", code, out)
		}
	})
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"memory", "memory"},
		{"sqlite:/var/lib/gatehouse.db", "sqlite:/var/lib/gatehouse.db"},
		{"postgres://gh:s3cret@db:5432/gh?sslmode=require", "postgres://gh:xxxxx@db:5432/gh?sslmode=require"},
		{"postgresql://gh@db/gh?password=s3cret&sslpassword=s3cret2&application_name=x",
			"postgresql://gh@db/gh?application_name=x&password=xxxxx&sslpassword=xxxxx"},
		{"host=db port=5433 dbname=gh user=gh password=s3cret sslmode=disable", "host=db port=5433 dbname=gh user=gh"},
		{"host=db password='s3 cret", "(PostgreSQL settings that do not parse)"},
		{"postgres://gh:s3cret@[::1/x", "(a PostgreSQL URL that does not parse)"},
	}
	for _, tt := range tests {
		if got := redactDSN(tt.dsn); got != tt.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}
