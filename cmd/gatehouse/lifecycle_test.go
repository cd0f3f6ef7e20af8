package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// This file tests the server's life: start, restore, readiness, drain and
// exit, against the built binary where the process's own behaviour (exit
// code, signals) is what counts.

// health answers GET path on addr: the status, and the body; status 0 when
// nothing answered.
func health(addr, path string) (int, string) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitFor polls cond until it holds, failing t after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60s", what)
		}
		<-tick.C
	}
}

// lockTable takes lock mode on table from a session of its own and holds
// it until release or the end of the test.
func lockTable(t *testing.T, dsn, table, mode string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "BEGIN; LOCK TABLE "+pgx.Identifier{table}.Sanitize()+" IN "+mode+" MODE"); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			_, _ = conn.Exec(ctx, "ROLLBACK")
			_ = conn.Close(ctx)
		}
	}
	t.Cleanup(release)
	return release
}

// waitingOn reports whether some session of dsn's database waits for a
// lock on table.
func waitingOn(t *testing.T, dsn, table string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE NOT l.granted AND c.relname = $1
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`, table).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// exitCode waits for the process to end and returns its exit code.
func (p *serverProc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not exit within 60s")
	}
	var exit *exec.ExitError
	if errors.As(p.waitErr, &exit) {
		return exit.ExitCode()
	}
	if p.waitErr != nil {
		t.Fatalf("wait: %v", p.waitErr)
	}
	return 0
}

// TestServe_ListensWhileRestoring holds a lock that stops the restore's
// first query: meanwhile /livez answers 200, /readyz 503 saying why, and
// events 503 with a clear error; once the lock goes the server becomes
// ready and takes events.
func TestServe_ListensWhileRestoring(t *testing.T) {
	bin := buildGatehouse(t)
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	seed := startMain(t, dsn)
	setupPipeline(newAPIClient(t, seed.Addr(), "ws-restore"))
	seed.stop(t)

	release := lockTable(t, dsn, "workspace", "ACCESS EXCLUSIVE")
	srv := launchServer(t, bin, nil, "--db", dsn, "--db-timeout", "2m")
	waitFor(t, "/livez answers 200", func() bool { status, _ := health(srv.addr, "/livez"); return status == http.StatusOK })
	if status, body := health(srv.addr, "/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "restoring") {
		t.Errorf("/readyz while restoring: %d %s, want 503 saying it restores", status, body)
	}
	c := newAPIClient(t, srv.addr, "ws-restore")
	status, body, err := c.post("resource.created", fxResource("early", "Cluster", map[string]string{}))
	if err != nil || status != http.StatusServiceUnavailable || !strings.Contains(string(body), "restored") {
		t.Errorf("POST while restoring: %d %s %v, want 503 saying workspaces are being restored", status, body, err)
	}
	release()
	waitReady(t, srv.addr, srv.exited)
	c.mustApply("resource.created", fxResource("later", "Cluster", map[string]string{}))
	if status, _ := c.get("resources/early"); status != http.StatusNotFound {
		t.Errorf("the event refused while restoring was applied: GET answered %d", status)
	}
}

// TestServe_SIGTERM stops an idle server with SIGTERM: it exits 0 and a
// restart shows everything it acknowledged.
func TestServe_SIGTERM(t *testing.T) {
	bin := buildGatehouse(t)
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			dsn := sqltest.DSN(t, dialect)
			srv := startServer(t, bin, dsn)
			c := newAPIClient(t, srv.addr, "ws-term")
			setupPipeline(c)
			before := dumpState(t, c)
			if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := srv.exitCode(t); code != 0 {
				t.Fatalf("exit code %d after SIGTERM, want 0", code)
			}
			srv = startServer(t, bin, dsn)
			assertSameState(t, "after SIGTERM and a restart", dumpState(t, newAPIClient(t, srv.addr, "ws-term")), before)
		})
	}
}

// TestServe_DrainsOnSIGTERM sends SIGTERM while an event waits for a
// database lock: /readyz turns 503, new events are refused with 503, the
// event in hand commits once the lock goes and is acknowledged, and the
// server exits 0. With a drain shorter than the wait, it exits 1 instead.
func TestServe_DrainsOnSIGTERM(t *testing.T) {
	bin := buildGatehouse(t)
	t.Run("committed", func(t *testing.T) {
		dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
		srv := startServer(t, bin, dsn, "--db-timeout", "2m")
		c := newAPIClient(t, srv.addr, "ws-drain")
		setupPipeline(c)

		release := lockTable(t, dsn, "resource", "EXCLUSIVE")
		type answer struct {
			status int
			err    error
		}
		inHand := make(chan answer, 1)
		go func() {
			status, _, err := c.post("resource.created", fxResource("in-hand", "Cluster", map[string]string{}))
			inHand <- answer{status, err}
		}()
		waitFor(t, "the event waits for the lock", func() bool { return waitingOn(t, dsn, "resource") })
		if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "/readyz answers 503 while draining", func() bool {
			status, body := health(srv.addr, "/readyz")
			return status == http.StatusServiceUnavailable && strings.Contains(body, "draining")
		})
		status, body, err := c.post("resource.created", fxResource("refused", "Cluster", map[string]string{}))
		if err != nil || status != http.StatusServiceUnavailable || !strings.Contains(string(body), "shutting down") {
			t.Errorf("POST while draining: %d %s %v, want 503 saying the server is shutting down", status, body, err)
		}
		release()
		if a := <-inHand; a.err != nil || a.status != http.StatusAccepted {
			t.Errorf("the event in hand: %d %v, want 202", a.status, a.err)
		}
		if code := srv.exitCode(t); code != 0 {
			t.Fatalf("exit code %d after a drain that committed everything, want 0", code)
		}
		srv = startServer(t, bin, dsn)
		c = newAPIClient(t, srv.addr, "ws-drain")
		if status, _ := c.get("resources/in-hand"); status != http.StatusOK {
			t.Errorf("the event acknowledged during the drain is not stored: GET answered %d", status)
		}
		if status, _ := c.get("resources/refused"); status != http.StatusNotFound {
			t.Errorf("the event refused during the drain is stored: GET answered %d", status)
		}
	})
	t.Run("timed out", func(t *testing.T) {
		dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
		srv := startServer(t, bin, dsn, "--db-timeout", "2m", "--shutdown-timeout", "200ms")
		c := newAPIClient(t, srv.addr, "ws-drain")
		setupPipeline(c)
		lockTable(t, dsn, "resource", "EXCLUSIVE")
		go func() { _, _, _ = c.post("resource.created", fxResource("stuck", "Cluster", map[string]string{})) }()
		waitFor(t, "the event waits for the lock", func() bool { return waitingOn(t, dsn, "resource") })
		if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := srv.exitCode(t); code != 1 {
			t.Fatalf("exit code %d after a drain that ran out, want 1", code)
		}
		if log := srv.log(t); !strings.Contains(log, "events still in hand") {
			t.Errorf("the server did not say why it failed to stop cleanly:\n%s", log)
		}
	})
}

// TestServe_RefusesReadOnlyDatabase starts the binary on a database that
// cannot be written: serve must fail at once and say so.
func TestServe_RefusesReadOnlyDatabase(t *testing.T) {
	bin := buildGatehouse(t)
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			dsn := sqltest.DSN(t, dialect)
			if err := Migrate(context.Background(), dsn); err != nil {
				t.Fatal(err)
			}
			sqltest.MakeReadOnly(t, dialect, dsn)
			srv := launchServer(t, bin, nil, "--db", dsn)
			if code := srv.exitCode(t); code == 0 {
				t.Fatal("serve on a read-only database exited 0")
			}
			if log := srv.log(t); !strings.Contains(log, "cannot be written") || !strings.Contains(log, "read-only") {
				t.Errorf("serve on a read-only database did not say so:\n%s", log)
			}
		})
	}
}

// TestMain_ReadyzWhileDatabaseReadOnly turns PostgreSQL read-only under a
// running server (every session reconnects, as after a failover to a
// standby): /readyz must answer 503 naming the cause until the database
// takes writes again.
func TestMain_ReadyzWhileDatabaseReadOnly(t *testing.T) {
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	cfg := testConfig(dsn)
	cfg.ProbeInterval = 20 * time.Millisecond
	m := startMainWith(t, cfg)

	undo := sqltest.MakeReadOnly(t, sqlstore.DialectPostgres, dsn)
	sqltest.TerminateSessions(t, dsn)
	waitFor(t, "/readyz answers 503 while the database is read-only", func() bool {
		status, body := health(m.Addr(), "/readyz")
		return status == http.StatusServiceUnavailable && strings.Contains(body, "cannot be written")
	})
	undo()
	sqltest.TerminateSessions(t, dsn)
	waitReady(t, m.Addr(), nil)
}
