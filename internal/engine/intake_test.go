package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

func system(t testing.TB, id string) []engine.Event {
	return []engine.Event{ev(t, "system.created", "", map[string]any{"id": id, "name": id})}
}

// TestEngine_Refuse: while refused, Apply applies nothing and answers the
// refusal; after Accept it applies again.
func TestEngine_Refuse(t *testing.T) {
	eng := newDurableEngine(sqltest.Open(t, sqlstore.DialectSQLite))
	defer eng.Close()
	ctx := context.Background()
	eng.Refuse(engine.ErrRestoring)
	err := eng.Apply(ctx, "ws", system(t, "early"))
	if !errors.Is(err, engine.ErrRestoring) || model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Fatalf("Apply while restoring: %v, want ErrRestoring (unavailable)", err)
	}
	if _, ok := eng.Workspace("ws"); ok {
		t.Fatal("a refused event created the workspace")
	}
	eng.Accept()
	if err := eng.Apply(ctx, "ws", system(t, "later")); err != nil {
		t.Fatalf("Apply after Accept: %v", err)
	}
}

// TestEngine_Drain holds one event in its commit: Drain refuses new events
// at once but returns only after the one in hand committed, or with an error
// when its context ends first.
func TestEngine_Drain(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	db := sqltest.Open(t, sqlstore.DialectSQLite, sqlstore.WithStatementHook(func(int) error {
		select {
		case entered <- struct{}{}:
			<-release
		default:
		}
		return nil
	}))
	eng := newDurableEngine(db)
	defer eng.Close()
	ctx := context.Background()

	applied := make(chan error, 1)
	go func() { applied <- eng.Apply(ctx, "ws", system(t, "in-hand")) }()
	<-entered

	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := eng.Drain(expired); err == nil {
		t.Fatal("Drain with an ended context returned nil while an event is in hand")
	}
	drained := make(chan error, 1)
	go func() { drained <- eng.Drain(ctx) }()
	if err := eng.Apply(ctx, "ws", system(t, "late")); !errors.Is(err, engine.ErrShuttingDown) {
		t.Fatalf("Apply while draining: %v, want ErrShuttingDown", err)
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while an event was in hand", err)
	default:
	}
	close(release)
	if err := <-applied; err != nil {
		t.Fatalf("the event in hand: %v", err)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	ws, ok := eng.Workspace("ws")
	if !ok || ws.Store() == nil {
		t.Fatal("the event in hand did not commit")
	}
}
