package sqltest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// MakeReadOnly makes the database of dsn refuse writes, as a failover to a
// standby or a read-only volume does, until undo is called or the test
// ends. PostgreSQL: default_transaction_read_only for every session opened
// afterwards (TerminateSessions makes open pools reconnect). SQLite: the
// file is made immutable (root writes through permissions; the test is
// skipped where chattr does not work) or read-only, for connections opened
// afterwards.
func MakeReadOnly(t testing.TB, dialect, dsn string) (undo func()) {
	t.Helper()
	if dialect == sqlstore.DialectPostgres {
		setReadOnly(t, dsn, true)
		undo = func() { setReadOnly(t, dsn, false) }
		t.Cleanup(undo)
		return undo
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if os.Geteuid() != 0 {
		if err := os.Chmod(path, 0o444); err != nil {
			t.Fatal(err)
		}
		undo = func() { _ = os.Chmod(path, 0o644) }
	} else {
		if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
			t.Skipf("chattr +i %s (needed to stop root writing): %v %s", path, err, out)
		}
		undo = func() { _ = exec.Command("chattr", "-i", path).Run() }
	}
	t.Cleanup(undo)
	return undo
}

func setReadOnly(t testing.TB, dsn string, on bool) {
	t.Helper()
	value := "off"
	if on {
		value = "on"
	}
	withConn(t, dsn, func(ctx context.Context, conn *pgx.Conn) error {
		// This session may itself default to read-only: it opts out first.
		if _, err := conn.Exec(ctx, "SET default_transaction_read_only = off"); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{conn.Config().Database}.Sanitize()+
			" SET default_transaction_read_only = "+value)
		return err
	})
}

// TerminateSessions ends every other session on the PostgreSQL database of
// dsn, as a server restart or failover does; pools reconnect on next use.
func TerminateSessions(t testing.TB, dsn string) {
	t.Helper()
	withConn(t, dsn, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "+
			"WHERE datname = current_database() AND pid <> pg_backend_pid()")
		return err
	})
}

func withConn(t testing.TB, dsn string, fn func(context.Context, *pgx.Conn) error) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := fn(ctx, conn); err != nil {
		t.Fatal(err)
	}
}

// ExpireLeases makes the workspace leases of ids on the PostgreSQL database
// of dsn run out now, as if their owner had stopped renewing them (paused,
// partitioned, killed) for longer than their lifetime.
func ExpireLeases(t testing.TB, dsn string, ids ...string) {
	t.Helper()
	withConn(t, dsn, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `UPDATE "workspace_lease" SET "expires_at" = now() - interval '1 second'
			WHERE "workspace_id" = ANY($1)`, ids)
		return err
	})
}

// WaitingOn reports whether a session of the PostgreSQL database of dsn
// waits for a lock (on a table or on a row) in a statement naming table.
func WaitingOn(t testing.TB, dsn, table string) bool {
	t.Helper()
	var n int
	withConn(t, dsn, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
			AND position($1 in query) > 0`, table).Scan(&n)
	})
	return n > 0
}

// TerminateApplication ends every session of the PostgreSQL database of dsn
// opened with application_name name, as the death of that process does:
// their open transactions are rolled back.
func TerminateApplication(t testing.TB, dsn, name string) {
	t.Helper()
	withConn(t, dsn, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "+
			"WHERE datname = current_database() AND application_name = $1", name)
		return err
	})
}
