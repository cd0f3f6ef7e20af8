package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// settableClock is a clock a test moves by hand.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *settableClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// events records the workspaces an engine loaded and unloaded.
type events struct {
	mu               sync.Mutex
	loaded, unloaded []string
}

func (e *events) load(ws string)   { e.mu.Lock(); e.loaded = append(e.loaded, ws); e.mu.Unlock() }
func (e *events) unload(ws string) { e.mu.Lock(); e.unloaded = append(e.unloaded, ws); e.mu.Unlock() }
func (e *events) counts() (int, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.loaded), len(e.unloaded)
}

// memoryOf dumps the durable tables of ws as the engine holds them.
func memoryOf(t testing.TB, eng *engine.Engine, ws string) map[string]string {
	t.Helper()
	return durableOf(storetest.Dump(t, snapshot(t, eng, ws), true))
}

// TestEngine_LoadOnTouch: a second engine on the same database, which
// restored nothing, loads a workspace the first time it is read or
// written, and then holds exactly what the database holds.
func TestEngine_LoadOnTouch(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			first := newDurableEngine(db)
			mustApply(t, first, "ws-a", append(pipeline(t), resourceCreated(t, "r1", ""))...)
			mustApply(t, first, "ws-b", append(pipeline(t), resourceCreated(t, "r2", ""))...)
			first.Close()

			var seen events
			second := engine.New(engine.Config{Persister: db, Loader: db, Clock: fakeClock(),
				Logger: slog.New(slog.DiscardHandler), OnLoad: seen.load})
			defer second.Close()
			if n := second.Loaded(); n != 0 {
				t.Fatalf("%d workspaces in memory before anything touched them", n)
			}
			ws, err := second.Load(context.Background(), "ws-a")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if n := store.Jobs.Count(ws.Store().Snapshot()); n != 4 {
				t.Errorf("loaded ws-a has %d jobs, want 4", n)
			}
			assertSameTables(t, "ws-a loaded on a read", memoryOf(t, second, "ws-a"), loadDurable(t, db, "ws-a"))

			mustApply(t, second, "ws-b", resourceCreated(t, "r3", ""))
			if n := store.Jobs.Count(snapshot(t, second, "ws-b")); n != 8 {
				t.Errorf("ws-b after a write on touch has %d jobs, want 8 (4 stored, 4 new)", n)
			}
			assertSameTables(t, "ws-b loaded on a write", memoryOf(t, second, "ws-b"), loadDurable(t, db, "ws-b"))
			if loaded, _ := seen.counts(); loaded != 2 {
				t.Errorf("OnLoad told %d times, want 2: %v", loaded, seen.loaded)
			}

			if _, err := second.Load(context.Background(), "ws-none"); model.ErrorCode(err) != model.ENOTFOUND {
				t.Errorf("Load of a workspace never written: %v, want ENOTFOUND", err)
			}
			if n := second.Loaded(); n != 2 {
				t.Errorf("%d workspaces in memory after a read of a missing one, want 2", n)
			}
		})
	}
}

// TestEngine_UnloadIdle: a workspace untouched for the idle time and
// holding nothing leaves memory and comes back whole on the next touch;
// one with a job under way stays.
func TestEngine_UnloadIdle(t *testing.T) {
	db := sqltest.Open(t, sqlstore.DialectSQLite)
	clock := &settableClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	var seen events
	eng := engine.New(engine.Config{Persister: db, Loader: db, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler),
		OnUnload: seen.unload})
	defer eng.Close()
	mustApply(t, eng, "ws-quiet", ev(t, "system.created", "", map[string]any{"id": "sys", "name": "sys"}))
	mustApply(t, eng, "ws-busy", append(pipeline(t), resourceCreated(t, "r1", ""))...)
	quiet := memoryOf(t, eng, "ws-quiet")

	clock.Advance(10 * time.Minute)
	if got := eng.UnloadIdle(clock.Now().Add(-30 * time.Minute)); len(got) != 0 {
		t.Fatalf("unloaded %v after 10 minutes, want none", got)
	}
	clock.Advance(30 * time.Minute)
	if got := eng.UnloadIdle(clock.Now().Add(-30 * time.Minute)); !slices.Equal(got, []string{"ws-quiet"}) {
		t.Fatalf("unloaded %v after 40 minutes, want [ws-quiet] (ws-busy has pending jobs)", got)
	}
	if _, unloaded := seen.counts(); unloaded != 1 || seen.unloaded[0] != "ws-quiet" {
		t.Errorf("OnUnload told %v, want [ws-quiet]", seen.unloaded)
	}
	if _, ok := eng.Workspace("ws-quiet"); ok {
		t.Fatal("ws-quiet is still in memory")
	}
	if _, err := eng.Load(context.Background(), "ws-quiet"); err != nil {
		t.Fatalf("Load after unload: %v", err)
	}
	assertSameTables(t, "ws-quiet loaded again", memoryOf(t, eng, "ws-quiet"), quiet)
}

// TestEngine_DeleteWorkspace: workspace.deleted removes every row of the
// workspace in one transaction and the workspace from memory; other
// workspaces are untouched, and the id can be used again.
func TestEngine_DeleteWorkspace(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			var seen events
			eng := engine.New(engine.Config{Persister: db, Loader: db, Clock: fakeClock(),
				Logger: slog.New(slog.DiscardHandler), OnUnload: seen.unload})
			defer eng.Close()
			ctx := context.Background()
			mustApply(t, eng, "ws-gone", append(pipeline(t), resourceCreated(t, "r1", "evt-1"))...)
			mustApply(t, eng, "ws-kept", append(pipeline(t), resourceCreated(t, "r1", ""))...)
			kept := loadDurable(t, db, "ws-kept")

			err := eng.Apply(ctx, "ws-gone", []engine.Event{ev(t, "workspace.deleted", "", map[string]any{"id": "ws-kept"})})
			if model.ErrorCode(err) != model.EINVALID || model.ErrorField(err) != "workspace.id" {
				t.Fatalf("deleting with another workspace's id: %v, want invalid workspace.id", err)
			}
			mustApply(t, eng, "ws-gone", ev(t, "workspace.deleted", "", map[string]any{"id": "ws-gone"}))
			if _, ok := eng.Workspace("ws-gone"); ok {
				t.Error("the deleted workspace is still in memory")
			}
			if !slices.Contains(seen.unloaded, "ws-gone") {
				t.Errorf("OnUnload was not told of the deleted workspace: %v", seen.unloaded)
			}
			for table, rows := range loadDurable(t, db, "ws-gone") {
				if rows != "{}" && rows != "null" {
					t.Errorf("table %s still holds rows of the deleted workspace: %.300s", table, rows)
				}
			}
			if held, err := db.HasWorkspace(ctx, "ws-gone"); err != nil || held {
				t.Errorf("HasWorkspace after the deletion: %v %v", held, err)
			}
			assertSameTables(t, "the other workspace", loadDurable(t, db, "ws-kept"), kept)

			// The event id went with the workspace: the same event makes it anew.
			mustApply(t, eng, "ws-gone", ev(t, "system.created", "evt-1", map[string]any{"id": "sys", "name": "sys"}))
			if n := store.Systems.Count(snapshot(t, eng, "ws-gone")); n != 1 {
				t.Errorf("the workspace made again has %d systems, want 1", n)
			}
		})
	}
}

// TestEngine_FenceRefusesAndReloads: with a Fence, a unit of work in a
// workspace this process does not own is refused, and a lease taken anew
// (another process may have written meanwhile) loads the workspace again.
func TestEngine_FenceRefusesAndReloads(t *testing.T) {
	db := sqltest.Open(t, sqlstore.DialectSQLite)
	var mu sync.Mutex
	lease := map[string]store.Lease{}
	fence := func(ws string) (store.Lease, bool) {
		mu.Lock()
		defer mu.Unlock()
		l, ok := lease[ws]
		return l, ok
	}
	var seen events
	// SQLite keeps no leases: a persister that drops them lets the engine's
	// side be tested alone (the database's side is in sqlstore's tests).
	eng := engine.New(engine.Config{Persister: leaseless{db}, Loader: db, Clock: fakeClock(),
		Logger: slog.New(slog.DiscardHandler), Fence: fence, OnLoad: seen.load})
	defer eng.Close()
	ctx := context.Background()

	err := eng.Apply(ctx, "ws", pipeline(t))
	if !errors.Is(err, engine.ErrNotOwner) || model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Fatalf("Apply without the lease: %v, want ErrNotOwner", err)
	}
	mu.Lock()
	lease["ws"] = store.Lease{Owner: "me", Epoch: 1}
	mu.Unlock()
	mustApply(t, eng, "ws", pipeline(t)...)

	// Another writer adds a resource while this process does not hold the
	// workspace, then the lease comes back at a higher epoch.
	other := newDurableEngine(db)
	mustApply(t, other, "ws", resourceCreated(t, "elsewhere", ""))
	other.Close()
	mu.Lock()
	lease["ws"] = store.Lease{Owner: "me", Epoch: 3}
	mu.Unlock()
	mustApply(t, eng, "ws", resourceCreated(t, "here", ""))
	snap := snapshot(t, eng, "ws")
	if !store.Resources.Has(snap, "elsewhere") || !store.Resources.Has(snap, "here") {
		t.Fatalf("after taking the lease again the workspace lacks what was written meanwhile: %v",
			storetest.Dump(t, snap, false)["resource"])
	}
	if loaded, _ := seen.counts(); loaded != 1 {
		t.Errorf("OnLoad told %d times, want 1 (the reload at the new epoch; the first load found nothing stored)", loaded)
	}
}

// leaseless persists batches without their lease.
type leaseless struct{ *sqlstore.DB }

func (l leaseless) Persist(ctx context.Context, b store.Batch) error {
	b.Lease = nil
	return l.DB.Persist(ctx, b)
}
