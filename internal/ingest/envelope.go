// Package ingest turns what producers send (HTTP bodies, Kafka records) into
// engine events.
package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"

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

// envelopeFields are the fields an envelope may have.
var envelopeFields = []string{"eventType", "workspaceId", "eventId", "timestamp", "data"}

// Decode reads one envelope or a JSON array of envelopes. When workspaceID is
// not empty every envelope must name that workspace (or none, and it is
// filled in). The whole body is rejected if any envelope is malformed, so a
// bad batch changes nothing; the error for one envelope is an
// *engine.EventError with its position, naming the envelope's field.
//
// Envelopes are read strictly (a field that is not an envelope field is
// refused); their payloads are left to engine.Apply, which checks and
// decodes them.
func Decode(body []byte, workspaceID string) ([]engine.Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, model.Invalid("body", "is empty; send an event envelope or an array of them")
	}
	if envs, ok := scanEnvelopes(body); ok {
		events := make([]engine.Event, 0, len(envs))
		for i, env := range envs {
			if err := checkEnvelope(env, workspaceID); err != nil {
				return nil, &engine.EventError{Index: i, Type: env.EventType, Err: err, Batch: len(envs) > 1}
			}
			events = append(events, engine.Event{Type: env.EventType, ID: env.EventID, Data: env.Data})
		}
		return events, nil
	}
	return decodeSlowly(body, workspaceID)
}

// decodeSlowly is Decode for a body scanEnvelopes did not take: each
// envelope is read into a map of its fields, so that whatever is wrong is
// found and named.
func decodeSlowly(body []byte, workspaceID string) ([]engine.Event, error) {
	var raws []map[string]json.RawMessage
	if body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, malformed(err)
		}
	} else {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, malformed(err)
		}
		raws = append(raws, raw)
	}
	events := make([]engine.Event, 0, len(raws))
	for i, raw := range raws {
		env, err := envelope(raw, workspaceID)
		if err != nil {
			return nil, &engine.EventError{Index: i, Type: env.EventType, Err: err, Batch: len(raws) > 1}
		}
		events = append(events, engine.Event{Type: env.EventType, ID: env.EventID, Data: env.Data})
	}
	return events, nil
}

// envelope reads one envelope's fields, each of its own type.
func envelope(raw map[string]json.RawMessage, workspaceID string) (Envelope, error) {
	var env Envelope
	if raw == nil {
		return env, model.Invalid("event", "must be an object (an event envelope)")
	}
	for i, dst := range []*string{&env.EventType, &env.WorkspaceID, &env.EventID} {
		name := envelopeFields[i]
		if v, ok := raw[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return env, model.Invalid(name, "must be a string")
			}
		}
	}
	if v, ok := raw["timestamp"]; ok {
		if err := json.Unmarshal(v, &env.Timestamp); err != nil {
			return env, model.Invalid("timestamp", "must be a number (milliseconds since the epoch)")
		}
	}
	env.Data = raw["data"]
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(envelopeFields, name) {
			return env, model.UnknownField("", name, envelopeFields)
		}
	}
	return env, checkEnvelope(env, workspaceID)
}

// checkEnvelope checks what an envelope's fields must say, whichever way
// they were read.
func checkEnvelope(env Envelope, workspaceID string) error {
	if env.EventType == "" {
		return model.Invalid("eventType", "is required (the event type)")
	}
	if workspaceID != "" && env.WorkspaceID != "" && env.WorkspaceID != workspaceID {
		return model.Invalid("workspaceId", "%q differs from the workspace in the path, %q", env.WorkspaceID, workspaceID)
	}
	return nil
}

func malformed(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return model.Invalid("body", "malformed JSON: %s at byte %d", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return model.Invalid("body", "must be an event envelope (an object) or an array of them")
	}
	return model.Invalid("body", "malformed JSON: %v", err)
}
