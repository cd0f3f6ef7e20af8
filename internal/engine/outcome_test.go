package engine_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// lostAnswer is a database whose answer to a commit can be lost: the batch
// is written, then the caller is told the connection broke, as when the
// connection drops after PostgreSQL committed.
type lostAnswer struct {
	*sqlstore.DB
	lose atomic.Bool
}

func (l *lostAnswer) Persist(ctx context.Context, b store.Batch) error {
	if err := l.DB.Persist(ctx, b); err != nil {
		return err
	}
	if l.lose.Swap(false) {
		return model.Errorf(model.EUNAVAILABLE, "connection reset after COMMIT")
	}
	return nil
}

// TestEngine_UnknownCommitOutcome: after a commit that the database applied
// but answered with an error, the workspace is loaded again before its next
// event, so that memory equals the database: a redelivered event changes
// nothing (no second job), and a deleted resource stays deleted.
func TestEngine_UnknownCommitOutcome(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := &lostAnswer{DB: sqltest.Open(t, dialect)}
			eng := engine.New(engine.Config{Persister: db, Loader: db.DB, Clock: fakeClock(),
				Logger: slog.New(slog.DiscardHandler)})
			const ws = "ws-lost"
			mustApply(t, eng, ws, pipeline(t)...)

			db.lose.Store(true)
			create := resourceCreated(t, "r1", "create-r1")
			if err := eng.Apply(context.Background(), ws, []engine.Event{create}); model.ErrorCode(err) != model.EUNAVAILABLE {
				t.Fatalf("the lost answer: %v, want unavailable", err)
			}
			// The producer sends the event again, as it must after a 503.
			mustApply(t, eng, ws, create)
			snap := snapshot(t, eng, ws)
			if n := len(store.Jobs.Items(snap)); n != 4 {
				t.Fatalf("%d jobs after the redelivery, want the 4 of r1's targets, once", n)
			}
			assertSameTables(t, "memory and database after the redelivery", durableOf(storetest.Dump(t, snap, false)),
				loadDurable(t, db.DB, ws))

			db.lose.Store(true)
			del := ev(t, "resource.deleted", "", map[string]any{"id": "r1"})
			if err := eng.Apply(context.Background(), ws, []engine.Event{del}); model.ErrorCode(err) != model.EUNAVAILABLE {
				t.Fatalf("the lost answer of the delete: %v, want unavailable", err)
			}
			mustApply(t, eng, ws, resourceCreated(t, "r2", ""))
			snap = snapshot(t, eng, ws)
			if store.Resources.Has(snap, "r1") {
				t.Fatal("r1, deleted by the commit whose answer was lost, is back in memory")
			}
			assertSameTables(t, "memory and database after the delete", durableOf(storetest.Dump(t, snap, false)),
				loadDurable(t, db.DB, ws))
		})
	}
}

// TestEngine_StaleWorkspaceWaitsForTheDatabase: while the database cannot
// be read, a workspace whose last commit had an unknown outcome refuses
// events instead of taking them on memory that may be wrong.
func TestEngine_StaleWorkspaceWaitsForTheDatabase(t *testing.T) {
	db := &lostAnswer{DB: sqltest.Open(t, sqlstore.DialectSQLite)}
	loader := &failingLoader{Loader: db.DB}
	eng := engine.New(engine.Config{Persister: db, Loader: loader, Clock: fakeClock(), Logger: slog.New(slog.DiscardHandler)})
	const ws = "ws-stale"
	mustApply(t, eng, ws, pipeline(t)...)
	db.lose.Store(true)
	if err := eng.Apply(context.Background(), ws, []engine.Event{resourceCreated(t, "r1", "")}); err == nil {
		t.Fatal("the lost answer was not reported")
	}
	loader.fail.Store(true)
	err := eng.Apply(context.Background(), ws, []engine.Event{resourceCreated(t, "r2", "")})
	if model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Fatalf("with the database unreadable: %v, want unavailable", err)
	}
	loader.fail.Store(false)
	mustApply(t, eng, ws, resourceCreated(t, "r2", ""))
	snap := snapshot(t, eng, ws)
	if !store.Resources.Has(snap, "r1") || !store.Resources.Has(snap, "r2") {
		t.Fatal("after the database came back, r1 (committed) and r2 are not both there")
	}
}

type failingLoader struct {
	engine.Loader
	fail atomic.Bool
}

func (f *failingLoader) LoadWorkspace(ctx context.Context, ws string, st *store.Store) (map[string]int, error) {
	if f.fail.Load() {
		return nil, model.Errorf(model.EUNAVAILABLE, "database unreachable")
	}
	return f.Loader.LoadWorkspace(ctx, ws, st)
}
