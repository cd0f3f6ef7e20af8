// Package ingest turns what producers send (HTTP bodies, Kafka records) into
// engine events.
package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Envelope is the wire shape of one event.
type Envelope struct {
	EventType   string          `json:"eventType"`
	WorkspaceID string          `json:"workspaceId"`
	EventID     string          `json:"eventId,omitempty"`
	Timestamp   json.Number     `json:"timestamp,omitempty"`
	Data        json.RawMessage `json:"data"`
}

// Decode reads one envelope or a JSON array of envelopes. When workspaceID is
// not empty every envelope must name that workspace (or none, and it is
// filled in). The whole body is rejected if any envelope is malformed, so a
// bad batch changes nothing.
func Decode(body []byte, workspaceID string) ([]engine.Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, model.Invalid("body", "is empty; send an event envelope or an array of them")
	}
	var envs []Envelope
	if body[0] == '[' {
		if err := json.Unmarshal(body, &envs); err != nil {
			return nil, model.Invalid("body", "malformed JSON: %s", jsonMessage(err))
		}
	} else {
		var env Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, model.Invalid("body", "malformed JSON: %s", jsonMessage(err))
		}
		envs = []Envelope{env}
	}
	events := make([]engine.Event, 0, len(envs))
	for i, env := range envs {
		prefix := fmt.Sprintf("events[%d]", i)
		if env.EventType == "" {
			return nil, model.Invalid(prefix+".eventType", "is required (the event type)")
		}
		if workspaceID != "" && env.WorkspaceID != "" && env.WorkspaceID != workspaceID {
			return nil, model.Invalid(prefix+".workspaceId", "%q differs from the workspace in the path, %q", env.WorkspaceID, workspaceID)
		}
		events = append(events, engine.Event{Type: env.EventType, ID: env.EventID, Data: env.Data})
	}
	return events, nil
}

func jsonMessage(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	return err.Error()
}
