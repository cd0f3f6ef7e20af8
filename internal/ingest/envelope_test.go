package ingest

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestDecode(t *testing.T) {
	events, err := Decode([]byte(`[
		{"eventType": "system.created", "workspaceId": "ws", "eventId": "e1", "timestamp": 1700000000000, "data": {"id": "s"}},
		{"eventType": "workspace.tick"}]`), "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Type != "system.created" || events[0].ID != "e1" || string(events[0].Data) != `{"id": "s"}` ||
		events[1].Type != "workspace.tick" || events[1].Data != nil {
		t.Errorf("decoded %+v", events)
	}
	one, err := Decode([]byte(`{"eventType": "workspace.tick", "timestamp": "1700000000000"}`), "ws")
	if err != nil || len(one) != 1 {
		t.Errorf("one envelope: %v %+v", err, one)
	}
}

func TestDecode_Refuses(t *testing.T) {
	tests := []struct {
		name, body string
		// index is the refused envelope's position, -1 for the body.
		index          int
		field, message string
	}{
		{"empty", `  `, -1, "body", "body: is empty; send an event envelope or an array of them"},
		{"malformed", `[{"eventType": }]`, -1, "body", "body: malformed JSON: invalid character '}' looking for beginning of value at byte 16"},
		{"not an envelope", `"system.created"`, -1, "body", "body: must be an event envelope (an object) or an array of them"},
		{"an unknown envelope field", `[{"eventType": "system.created", "data": {}}, {"evntType": "system.created"}]`, 1,
			"evntType", `event 1: unknown field "evntType"; did you mean "eventType"?`},
		{"a misspelt payload", `{"eventType": "system.created", "dat": {}}`, 0,
			"dat", `system.created: unknown field "dat"; did you mean "data"?`},
		{"no event type", `[{"data": {}}]`, 0, "eventType", "eventType: is required (the event type)"},
		{"an event type that is not a string", `{"eventType": 7}`, 0, "eventType", "eventType: must be a string"},
		{"a timestamp that is not a number", `{"eventType": "workspace.tick", "timestamp": "yesterday"}`, 0,
			"timestamp", "workspace.tick: timestamp: must be a number (milliseconds since the epoch)"},
		{"another workspace", `{"eventType": "workspace.tick", "workspaceId": "other"}`, 0,
			"workspaceId", `workspace.tick: workspaceId: "other" differs from the workspace in the path, "ws"`},
		{"null in a batch", `[{"eventType": "workspace.tick"}, null]`, 1, "event", "event 1: event: must be an object (an event envelope)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body), "ws")
			if model.ErrorCode(err) != model.EINVALID || model.ErrorField(err) != tt.field || err.Error() != tt.message {
				t.Fatalf("got %v (field %q), want %q (field %q)", err, model.ErrorField(err), tt.message, tt.field)
			}
			var ee *engine.EventError
			switch {
			case errors.As(err, &ee) && ee.Index != tt.index:
				t.Errorf("index %d, want %d", ee.Index, tt.index)
			case !errors.As(err, &ee) && tt.index >= 0:
				t.Errorf("no event index, want %d", tt.index)
			case ee != nil && ee.Applied != 0:
				t.Errorf("applied %d: nothing is applied when an envelope is refused", ee.Applied)
			}
			if ee != nil && !strings.Contains(err.Error(), tt.field) {
				t.Errorf("message %q does not name %s", err, tt.field)
			}
		})
	}
}
