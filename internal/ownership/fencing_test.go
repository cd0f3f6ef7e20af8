package ownership_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/ownership"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// pausing is a persister that, when armed, stops before its next commit
// until let go: a process paused (a long GC, a stopped VM) between deciding
// and committing.
type pausing struct {
	*sqlstore.DB
	armed  chan struct{}
	paused chan struct{}
	resume chan struct{}
}

func (p *pausing) Persist(ctx context.Context, b store.Batch) error {
	select {
	case <-p.armed:
		close(p.paused)
		<-p.resume
	default:
	}
	return p.DB.Persist(ctx, b)
}

type process struct {
	eng    *engine.Engine
	leases *ownership.Leases
}

func newProcess(t *testing.T, p store.Persister, db *sqlstore.DB, owner string) *process {
	t.Helper()
	pr := &process{}
	pr.leases = ownership.NewLeases(ownership.LeaseConfig{Store: db, Owner: owner, Address: owner + ":8080",
		Logger: slog.New(slog.DiscardHandler), OnLost: func(ws, _ string) { pr.eng.Unload(ws) }})
	pr.eng = engine.New(engine.Config{Persister: p, Loader: db, Fence: pr.leases.Fence, Logger: slog.New(slog.DiscardHandler),
		OnUnload: func(ws string) { pr.leases.Release(context.Background(), ws) }})
	t.Cleanup(pr.eng.Close)
	return pr
}

func systemEvent(t *testing.T, id string) []engine.Event {
	raw, err := json.Marshal(map[string]any{"id": id, "name": id})
	if err != nil {
		t.Fatal(err)
	}
	return []engine.Event{{Type: "system.created", Data: raw}}
}

// TestFencing_PausedOwnerCannotCommit: an owner paused past its lease,
// whose workspace another process took meanwhile, cannot commit when it
// resumes: its commit is refused (503, nothing written), it unloads the
// workspace and gives the lease up, and its next events are refused.
func TestFencing_PausedOwnerCannotCommit(t *testing.T) {
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	const ws = "ws-paused"
	pause := &pausing{DB: db, armed: make(chan struct{}, 1), paused: make(chan struct{}), resume: make(chan struct{})}
	old := newProcess(t, pause, db, "old")
	if _, err := old.leases.Take(ctx, []string{ws}, false); err != nil {
		t.Fatal(err)
	}
	if err := old.eng.Apply(ctx, ws, systemEvent(t, "before")); err != nil {
		t.Fatalf("the owner's first event: %v", err)
	}

	pause.armed <- struct{}{}
	applied := make(chan error, 1)
	go func() { applied <- old.eng.Apply(ctx, ws, systemEvent(t, "while-paused")) }()
	<-pause.paused
	sqltest.ExpireLeases(t, dsn, ws) // paused longer than the lease lasts
	heir := newProcess(t, db, db, "heir")
	if taken, err := heir.leases.Take(ctx, []string{ws}, false); err != nil || len(taken) != 1 {
		t.Fatalf("the heir takes the lapsed lease: %v %v", taken, err)
	}
	if err := heir.eng.Apply(ctx, ws, systemEvent(t, "by-heir")); err != nil {
		t.Fatalf("the heir's event: %v", err)
	}
	close(pause.resume)

	err = <-applied
	if !errors.Is(err, store.ErrFenced) || model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Fatalf("the paused owner's commit: %v, want ErrFenced (503)", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for old.eng.Loaded() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the paused owner kept the workspace in memory")
		}
		time.Sleep(10 * time.Millisecond)
	}
	old.leases.RenewOnce(ctx)
	if old.leases.Owns(ws) {
		t.Error("the paused owner still counts the lease as its own")
	}

	st, _ := store.New(ws)
	if _, err := db.LoadWorkspace(ctx, ws, st); err != nil {
		t.Fatal(err)
	}
	snap := st.Snapshot()
	for id, want := range map[string]bool{"before": true, "while-paused": false, "by-heir": true} {
		if store.Systems.Has(snap, id) != want {
			t.Errorf("system %s stored: %v, want %v", id, !want, want)
		}
	}
	if err := old.eng.Apply(ctx, ws, systemEvent(t, "after")); !errors.Is(err, engine.ErrNotOwner) {
		t.Errorf("the old owner's next event: %v, want ErrNotOwner (its requests go to the heir)", err)
	}
}
