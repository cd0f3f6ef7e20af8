package store_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

func TestStore_Memory(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) *store.Store {
		s, err := store.New(storetest.ID())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// failingPersister refuses every batch, like a database that is down.
type failingPersister struct{ batches int }

func (p *failingPersister) Persist(context.Context, store.Batch) error {
	p.batches++
	return errors.New("database is down")
}

func TestTx_Commit_PersistFailureLeavesMemory(t *testing.T) {
	p := &failingPersister{}
	s, err := store.New("ws", store.WithPersister(p))
	if err != nil {
		t.Fatal(err)
	}
	tx := s.Begin(context.Background())
	sys := &model.System{ID: "s1", Name: "s"}
	if err := store.Systems.Upsert(tx, sys.ID, sys); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("commit succeeded although the database refused the batch")
	}
	if p.batches != 1 {
		t.Fatalf("want one batch handed to the database, got %d", p.batches)
	}
	if store.Systems.Has(s.Snapshot(), "s1") {
		t.Fatal("memory holds a write the database refused")
	}
	// The store is usable again: the writer lock was released.
	tx = s.Begin(context.Background())
	tx.Abort()
}

// recordingPersister keeps every batch it is given.
type recordingPersister struct{ batches []store.Batch }

func (p *recordingPersister) Persist(_ context.Context, b store.Batch) error {
	p.batches = append(p.batches, b)
	return nil
}

func TestTx_Commit_SendsNetDurableChanges(t *testing.T) {
	p := &recordingPersister{}
	s, err := store.New("ws", store.WithPersister(p))
	if err != nil {
		t.Fatal(err)
	}
	tx := s.Begin(context.Background())
	a := &model.System{ID: "a", Name: "first"}
	a2 := &model.System{ID: "a", Name: "second"}
	tmp := &model.System{ID: "tmp", Name: "gone"}
	target := &model.ReleaseTarget{ResourceID: "r", EnvironmentID: "e", DeploymentID: "d"}
	for _, err := range []error{
		store.Systems.Upsert(tx, "a", a), store.Systems.Upsert(tx, "a", a2),
		store.Systems.Upsert(tx, "tmp", tmp), store.Systems.Remove(tx, "tmp"),
		store.ReleaseTargets.Upsert(tx, target.Key(), target),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(p.batches) != 1 {
		t.Fatalf("want 1 batch, got %d", len(p.batches))
	}
	changes := p.batches[0].Changes
	if len(changes) != 1 || changes[0].Key != "a" || changes[0].After.(*model.System).Name != "second" {
		t.Fatalf("want one net change (system a, named second), got %+v", changes)
	}
}

func TestTable_Upsert_Traced(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s, err := store.New("ws", store.WithTracer(tp.Tracer("test")))
	if err != nil {
		t.Fatal(err)
	}
	// Outside any span a write makes no root trace of its own.
	tx := s.Begin(context.Background())
	if err := store.Systems.Upsert(tx, "s0", &model.System{ID: "s0", Name: "s"}); err != nil {
		t.Fatal(err)
	}
	tx.Abort()
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("a write outside any span made %d spans", n)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "event")
	tx = s.Begin(ctx)
	defer tx.Abort()
	if err := store.Systems.Upsert(tx, "s1", &model.System{ID: "s1", Name: "s"}); err != nil {
		t.Fatal(err)
	}
	if err := store.Systems.Remove(tx, "missing"); err == nil {
		t.Fatal("removing a missing system succeeded")
	}
	parent.End()
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("want 2 spans under the event's, got %d in all", len(spans))
	}
	for _, sp := range spans[:2] {
		if sp.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %s is not the event's child", sp.Name())
		}
	}
	if spans[0].Name() != "store.UpsertSystem" || spans[0].Status().Code == codes.Error {
		t.Fatalf("first span: %s %v", spans[0].Name(), spans[0].Status())
	}
	if spans[1].Name() != "store.RemoveSystem" || spans[1].Status().Code != codes.Error {
		t.Fatalf("the failed remove's span is not marked as an error: %s %v", spans[1].Name(), spans[1].Status())
	}
}

// TestStore_Read: every read of one Read sees the same committed state; a
// commit made meanwhile becomes visible to it only after it ends, and to a
// new read at once.
func TestStore_Read(t *testing.T) {
	s, err := store.New(storetest.ID())
	if err != nil {
		t.Fatal(err)
	}
	put := func(id string) {
		tx := s.Begin(context.Background())
		defer tx.Abort()
		if err := store.Systems.Upsert(tx, id, &model.System{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	put("a")
	snap, done := s.Read()
	committed := make(chan struct{})
	go func() {
		put("b")
		close(committed)
	}()
	// The commit cannot fold in while the read holds: the read sees a, and
	// only a, however often it looks.
	for range 100 {
		if store.Systems.Has(snap, "b") || store.Systems.Count(snap) != 1 {
			t.Fatal("a held read saw a later commit")
		}
	}
	select {
	case <-committed:
		t.Fatal("a commit folded in while a read held its state")
	default:
	}
	done()
	<-committed
	if !store.Systems.Has(s.Snapshot(), "b") {
		t.Fatal("the commit is not visible after the read ended")
	}
	done() // a second call is harmless
}
