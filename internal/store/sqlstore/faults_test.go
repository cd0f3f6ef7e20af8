package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// openDSN opens dsn with opts, closed when the test ends.
func openDSN(t *testing.T, dsn string, opts ...sqlstore.Option) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// holdWriteLock takes, from a connection of its own, the lock a writer of
// the resource table needs, as another process would (a long migration, a
// backup), and holds it until release is called or the test ends.
func holdWriteLock(t *testing.T, dialect, dsn string) (release func()) {
	t.Helper()
	ctx := context.Background()
	if dialect == sqlstore.DialectSQLite {
		other, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite:"))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := other.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		release = func() { _, _ = conn.ExecContext(ctx, "ROLLBACK"); conn.Close(); other.Close() }
	} else {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `BEGIN; LOCK TABLE "resource" IN EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		release = func() { _, _ = conn.Exec(ctx, "ROLLBACK"); conn.Close(ctx) }
	}
	t.Cleanup(release)
	return release
}

// TestDB_Persist_timeout holds the lock a batch needs elsewhere: Persist
// must give up after the DB's timeout with EUNAVAILABLE naming the timeout,
// not wait for the lock, and must have written nothing.
func TestDB_Persist_timeout(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		dsn := sqltest.DSN(t, dialect)
		db := openDSN(t, dsn, sqlstore.WithTimeout(200*time.Millisecond))
		ws := randID("ws")
		st := newStore(t, ws, db)
		release := holdWriteLock(t, dialect, dsn)

		err := commit(t, st, func(tx *store.Tx) error {
			r := newResource(ws)
			return store.Resources.Upsert(tx, r.ID, r)
		})
		var pgErr *pgconn.PgError
		// The server's statement_timeout and the client's deadline are the
		// same; either may end the wait.
		timedOut := errors.Is(err, sqlstore.ErrTimeout) || (errors.As(err, &pgErr) && pgErr.Code == "57014")
		if model.ErrorCode(err) != model.EUNAVAILABLE || !timedOut {
			t.Fatalf("Persist with the lock held elsewhere: %v (%s), want unavailable after the timeout", err, model.ErrorCode(err))
		}
		if sqlstore.OutcomeUnknown(err) {
			t.Errorf("a batch that never reached COMMIT is reported as of unknown outcome: %v", err)
		}
		release()
		if n := store.Resources.Count(loadedStore(t, db, ws)); n != 0 {
			t.Errorf("a timed-out batch left %d rows", n)
		}
		// The DB works again once the lock is gone.
		mustCommit(t, st, func(tx *store.Tx) error {
			r := newResource(ws)
			return store.Resources.Upsert(tx, r.ID, r)
		})
	})
}

// TestOpen_postgresSessionTimeouts checks that the timeout reaches the
// server as session parameters, and that the DSN's own settings win.
func TestOpen_postgresSessionTimeouts(t *testing.T) {
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	ctx := context.Background()
	db := openDSN(t, dsn, sqlstore.WithTimeout(1500*time.Millisecond))
	for _, param := range []string{"statement_timeout", "idle_in_transaction_session_timeout"} {
		got, err := db.QueryStrings(ctx, "SHOW "+param)
		if err != nil || len(got) != 1 || got[0] != "1500ms" {
			t.Errorf("SHOW %s = %v, %v; want 1500ms", param, got, err)
		}
	}
	own := openDSN(t, dsn+"&statement_timeout=7000", sqlstore.WithTimeout(time.Second))
	if got, err := own.QueryStrings(ctx, "SHOW statement_timeout"); err != nil || len(got) != 1 || got[0] != "7s" {
		t.Errorf("statement_timeout set in the DSN: SHOW = %v, %v; want 7s", got, err)
	}
}

// TestOutcomeUnknown_rolledBack covers the failures known to roll back:
// none of them may be reported as of unknown outcome, and none leaves a row.
// Failures after COMMIT was sent need a connection that breaks at that
// moment; cmd/gatehouse's proxy tests provoke them.
func TestOutcomeUnknown_rolledBack(t *testing.T) {
	injected := model.Errorf(model.EUNAVAILABLE, "injected before commit")
	forEachDialect(t, func(t *testing.T, dialect string) {
		var fail bool
		db := sqltest.Open(t, dialect, sqlstore.WithStatementHook(func(int) error {
			if fail {
				return injected
			}
			return nil
		}))
		ws := randID("ws")
		st := newStore(t, ws, db)
		taken := newResource(ws)
		mustCommit(t, st, func(tx *store.Tx) error { return store.Resources.Upsert(tx, taken.ID, taken) })

		check := func(what string, err error, code string) {
			t.Helper()
			if model.ErrorCode(err) != code {
				t.Errorf("%s: %v (%s), want %s", what, err, model.ErrorCode(err), code)
			}
			if sqlstore.OutcomeUnknown(err) {
				t.Errorf("%s: reported as of unknown outcome: %v", what, err)
			}
		}
		dup := newResource(ws)
		dup.Identifier = taken.Identifier
		check("unique violation", commit(t, st, func(tx *store.Tx) error { return store.Resources.Upsert(tx, dup.ID, dup) }),
			model.ECONFLICT)

		fail = true
		check("statement error before commit", commit(t, st, func(tx *store.Tx) error {
			r := newResource(ws)
			return store.Resources.Upsert(tx, r.ID, r)
		}), model.EUNAVAILABLE)
		fail = false

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tx := st.Begin(ctx)
		r := newResource(ws)
		if err := store.Resources.Upsert(tx, r.ID, r); err != nil {
			t.Fatal(err)
		}
		check("canceled context", tx.Commit(), model.EUNAVAILABLE)

		if n := len(store.Resources.Items(loadedStore(t, db, ws))); n != 1 {
			t.Errorf("%d resources stored, want only the first", n)
		}
	})
}

// loadedStore loads ws from db into a fresh store and returns its snapshot.
func loadedStore(t *testing.T, db *sqlstore.DB, ws string) store.Snapshot {
	t.Helper()
	st := newStore(t, ws, nil)
	if _, err := db.LoadWorkspace(context.Background(), ws, st); err != nil {
		t.Fatal(err)
	}
	return st.Snapshot()
}

// TestDB_CheckWritable runs the write probe on a writable database, then on
// one that refuses writes: a PostgreSQL database whose sessions default to
// read-only transactions, and a SQLite file that cannot be written.
func TestDB_CheckWritable(t *testing.T) {
	ctx := context.Background()
	forEachDialect(t, func(t *testing.T, dialect string) {
		dsn := sqltest.DSN(t, dialect)
		db := openDSN(t, dsn)
		if err := db.CheckWritable(ctx); err != nil {
			t.Fatalf("probe of a writable database: %v", err)
		}
		if got, err := db.QueryStrings(ctx, `SELECT "key" FROM "gatehouse_meta"`); err != nil || len(got) != 0 {
			t.Errorf("the probe left rows behind: %v, %v", got, err)
		}
		db.Close()

		sqltest.MakeReadOnly(t, dialect, dsn)
		ro := openDSN(t, dsn)
		err := ro.CheckWritable(ctx)
		if model.ErrorCode(err) != model.EUNAVAILABLE || !strings.Contains(err.Error(), "read") {
			t.Errorf("probe of a read-only database: %v (%s), want unavailable saying it is read-only", err, model.ErrorCode(err))
		}
	})
}

// TestDB_KeyFingerprint: the first fingerprint claimed stays until it is
// replaced.
func TestDB_KeyFingerprint(t *testing.T) {
	ctx := context.Background()
	forEachDialect(t, func(t *testing.T, dialect string) {
		db := sqltest.Open(t, dialect)
		if fp, err := db.KeyFingerprint(ctx); err != nil || fp != "" {
			t.Fatalf("fresh database: %q, %v", fp, err)
		}
		if fp, err := db.ClaimKeyFingerprint(ctx, "aaaa"); err != nil || fp != "aaaa" {
			t.Fatalf("first claim: %q, %v", fp, err)
		}
		if fp, err := db.ClaimKeyFingerprint(ctx, "bbbb"); err != nil || fp != "aaaa" {
			t.Fatalf("second claim: %q, %v; want the first key's", fp, err)
		}
		if err := db.SetKeyFingerprint(ctx, "bbbb"); err != nil {
			t.Fatal(err)
		}
		if fp, err := db.KeyFingerprint(ctx); err != nil || fp != "bbbb" {
			t.Fatalf("after replacing: %q, %v", fp, err)
		}
	})
}

// A batch whose statements each answer quickly commits however long it
// takes in all (a fan-out to a million targets); one statement that stalls
// longer than the timeout still ends it.
//
// Each statement is held a quarter of the timeout before it runs, which
// leaves it three quarters to run in: enough for a statement of 1,000 rows
// under the race detector on a loaded machine.
func TestDB_Persist_longBatch(t *testing.T) {
	const timeout = 800 * time.Millisecond
	const pause = timeout / 4
	forEachDialect(t, func(t *testing.T, dialect string) {
		var statements int
		stallAt := -1
		db := sqltest.Open(t, dialect, sqlstore.WithTimeout(timeout), sqlstore.WithStatementHook(func(n int) error {
			statements++
			switch {
			case n == stallAt:
				time.Sleep(2 * timeout)
			default:
				time.Sleep(pause)
			}
			return nil
		}))
		ws := randID("ws")
		st := newStore(t, ws, db)
		batch := func(tx *store.Tx) error {
			for range 6000 {
				r := newResource(ws)
				if err := store.Resources.Upsert(tx, r.ID, r); err != nil {
					return err
				}
			}
			return nil
		}
		mustCommit(t, st, batch)
		if time.Duration(statements)*pause <= timeout {
			t.Fatalf("the batch took %d statements, too few to outlast the timeout", statements)
		}
		if n := store.Resources.Count(loadedStore(t, db, ws)); n != 6000 {
			t.Fatalf("the long batch stored %d resources, want 6000", n)
		}
		stallAt = 2
		err := commit(t, st, batch)
		if model.ErrorCode(err) != model.EUNAVAILABLE || !errors.Is(err, sqlstore.ErrTimeout) {
			t.Fatalf("a batch with a stalled statement: %v (%s), want unavailable after the timeout", err, model.ErrorCode(err))
		}
		if n := store.Resources.Count(loadedStore(t, db, ws)); n != 6000 {
			t.Errorf("the stalled batch left %d resources, want the first batch's 6000", n)
		}
	})
}

// TestDB_DiskFull fills a SQLite file (max_page_count stands for the disk):
// a write that does not fit is refused as unavailable, known to be rolled
// back, and leaves neither memory nor the file changed; once there is room
// again the same write succeeds.
func TestDB_DiskFull(t *testing.T) {
	ctx := context.Background()
	db := sqltest.Open(t, sqlstore.DialectSQLite)
	ws := randID("ws")
	st := newStore(t, ws, db)
	first := newResource(ws)
	mustCommit(t, st, func(tx *store.Tx) error { return store.Resources.Upsert(tx, first.ID, first) })

	// The one connection keeps the limit; it cannot go below the file's size.
	pages, err := db.QueryStrings(ctx, "PRAGMA page_count")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.QueryStrings(ctx, "PRAGMA max_page_count = "+pages[0]); err != nil {
		t.Fatal(err)
	}
	batch := make([]*model.Resource, 500)
	for i := range batch {
		batch[i] = newResource(ws)
	}
	write := func(tx *store.Tx) error {
		for _, r := range batch {
			if err := store.Resources.Upsert(tx, r.ID, r); err != nil {
				return err
			}
		}
		return nil
	}
	err = commit(t, st, write)
	if model.ErrorCode(err) != model.EUNAVAILABLE || sqlstore.OutcomeUnknown(err) {
		t.Fatalf("a write to a full file: %v (code %s, outcome unknown %v), want unavailable and rolled back",
			err, model.ErrorCode(err), sqlstore.OutcomeUnknown(err))
	}
	if n := len(store.Resources.Items(st.Snapshot())); n != 1 {
		t.Errorf("memory holds %d resources after the refused write, want 1", n)
	}
	if n := len(store.Resources.Items(loadedStore(t, db, ws))); n != 1 {
		t.Errorf("the file holds %d resources after the refused write, want 1", n)
	}

	if _, err := db.QueryStrings(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, st, write)
	if n := len(store.Resources.Items(loadedStore(t, db, ws))); n != 1+len(batch) {
		t.Errorf("the file holds %d resources once there is room, want %d", n, 1+len(batch))
	}
}
