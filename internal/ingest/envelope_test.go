package ingest

import (
	"bytes"
	"errors"
	"fmt"
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

// TestDecode_OnePass checks that the one-pass reading of a body gives what
// reading each envelope into a map gives, for bodies it takes and bodies
// it leaves to the slow reading.
func TestDecode_OnePass(t *testing.T) {
	bodies := []string{
		`[{"eventType": "system.created", "workspaceId": "ws", "eventId": "e1", "timestamp": 1700000000000, "data": {"id": "s", "n": [1, 2.5e3, "x\u00e9\"y"]}}]`,
		`{"eventType":"workspace.tick"}`,
		`[]`,
		`[{"eventType": "system\u002ecreated", "data": null}, {"eventType": "a", "data": "text"}]`,
		`{"eventType": "a", "eventType": "b"}`,
		`{"eventType": "a", "timestamp": "1700000000000"}`,
		`{"eventType": "a", "timestamp": null}`,
		`{"eventType": null}`,
		`{"eventType": "a"} {"eventType": "b"}`,
		`[{"eventType": "a"}] x`,
		`[{"eventType": "a"},]`,
		"{\"eventType\": \"a\xff\"}",
		`{"eventType": "a", "workspaceId": "other"}`,
		`[{"eventType": "a"}, {"eventType": ""}]`,
		`[{"eventType": "a"}, 7]`,
		`{"eventType": "a", "extra": 1}`,
	}
	for _, body := range bodies {
		fast, fastErr := Decode([]byte(body), "ws")
		slow, slowErr := decodeSlowly([]byte(body), "ws")
		if fmt.Sprint(fastErr) != fmt.Sprint(slowErr) {
			t.Errorf("%s: error %v, read slowly %v", body, fastErr, slowErr)
			continue
		}
		if len(fast) != len(slow) {
			t.Errorf("%s: %d events, read slowly %d", body, len(fast), len(slow))
			continue
		}
		for i := range fast {
			if fast[i].Type != slow[i].Type || fast[i].ID != slow[i].ID || !bytes.Equal(fast[i].Data, slow[i].Data) ||
				(fast[i].Data == nil) != (slow[i].Data == nil) {
				t.Errorf("%s: event %d is %+v, read slowly %+v", body, i, fast[i], slow[i])
			}
		}
	}
	if _, ok := scanEnvelopes([]byte(bodies[0])); !ok {
		t.Errorf("a well-formed batch was not read in one pass")
	}
}

// BenchmarkDecode reads a batch of 500 resource events, workload.py's shape.
func BenchmarkDecode(b *testing.B) {
	var body bytes.Buffer
	body.WriteString("[")
	for i := range 500 {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"eventType": "resource.created", "workspaceId": "ws", "timestamp": 1700000000000, "data": {"id": "r-%d", "workspaceId": "ws", "name": "r-%d", "identifier": "r-%d", "kind": "Cluster", "version": "v1", "config": {"replicas": %d}, "metadata": {"region": "region-%d", "tier": "web"}, "createdAt": "2026-01-01T00:00:00Z"}}`, i, i, i, i%7, i%5)
	}
	body.WriteString("]")
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		if _, err := Decode(body.Bytes(), "ws"); err != nil {
			b.Fatal(err)
		}
	}
}
