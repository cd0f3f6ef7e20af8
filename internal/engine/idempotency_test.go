package engine

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func eventWithID(t *testing.T, eventType, id string, data any) Event {
	e := event(t, eventType, data)
	e.ID = id
	return e
}

// TestEngine_EventIDReuse: an id is remembered with its event's content, so
// that a redelivery (however re-encoded) changes nothing and the same id
// on another event is refused.
func TestEngine_EventIDReuse(t *testing.T) {
	h := newHarness(t)
	world(h)
	apply := func(e Event) error { return h.eng.Apply(context.Background(), h.ws, []Event{e}) }
	if err := apply(eventWithID(t, "resource.created", "e1", resource("r1", nil))); err != nil {
		t.Fatal(err)
	}
	reencoded := eventWithID(t, "resource.created", "e1", nil)
	reencoded.Data = json.RawMessage(` {"version":"v1", "kind":"Cluster", "identifier":"r1", "name":"r1", "id":"r1",
		"metadata":null, "config":{}} `)
	if err := apply(reencoded); err != nil {
		t.Fatalf("the same event, re-encoded: %v", err)
	}
	err := apply(eventWithID(t, "resource.created", "e1", resource("r2", nil)))
	if model.ErrorCode(err) != model.ECONFLICT {
		t.Fatalf("the id on another event: %v, want a conflict", err)
	}
	if store.Resources.Has(h.snapshot(), "r2") {
		t.Fatal("the refused event was applied")
	}
}

// TestEngine_EventIDRetention: ids are forgotten after the retention
// window, so a workspace does not remember every id forever.
func TestEngine_EventIDRetention(t *testing.T) {
	now := t0
	h := newHarnessWith(t, Config{Clock: func() time.Time { return now }, EventIDRetention: 24 * time.Hour})
	world(h)
	if err := h.eng.Apply(context.Background(), h.ws, []Event{eventWithID(t, "resource.created", "old", resource("r1", nil))}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if err := h.eng.Apply(context.Background(), h.ws, []Event{eventWithID(t, "resource.created", "recent", resource("r2", nil))}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(23 * time.Hour) // "old" is 25 hours old, "recent" 23
	h.must("workspace.tick", map[string]any{})
	snap := h.snapshot()
	if store.ProcessedEvents.Has(snap, "old") || !store.ProcessedEvents.Has(snap, "recent") {
		t.Fatalf("after the window: old remembered %v, recent %v; want false, true",
			store.ProcessedEvents.Has(snap, "old"), store.ProcessedEvents.Has(snap, "recent"))
	}
}

// TestEngine_NoWorkspaceWithoutACommit: a request for a new workspace that
// commits nothing (a refused event) leaves nothing in memory.
func TestEngine_NoWorkspaceWithoutACommit(t *testing.T) {
	eng := New(Config{})
	for i := range 100 {
		ws := "ws-" + string(rune('a'+i%26)) + time.Duration(i).String()
		if err := eng.Apply(context.Background(), ws, []Event{{Type: "no.such.event"}}); err == nil {
			t.Fatal("an unknown event type was applied")
		}
	}
	eng.mu.RLock()
	n := len(eng.workspaces)
	eng.mu.RUnlock()
	if n != 0 || len(eng.Workspaces()) != 0 {
		t.Fatalf("%d workspaces kept in memory after refused events, want none", n)
	}
}
