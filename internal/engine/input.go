package engine

import (
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
)

// handlerFor returns the handler of an event after checking the event's
// type, its id and its raw payload for poison (wire.Check), so that every
// intake (HTTP, Kafka, tests calling Apply) refuses the same input.
func handlerFor(ev Event) (handler, error) {
	h, ok := handlers[ev.Type]
	if !ok {
		return nil, unknownEventType(ev.Type)
	}
	if err := checkID("eventId", ev.ID); err != nil {
		return nil, err
	}
	if err := wire.Check(ev.Data, "data"); err != nil {
		return nil, err
	}
	return h, nil
}

// checkWorkspaceID refuses a workspace id that is missing or poison.
func checkWorkspaceID(id string) error {
	if id == "" {
		return model.Invalid("workspaceId", "is required")
	}
	return checkID("workspaceId", id)
}

// checkID refuses an id that no database keeps as given.
func checkID(field, id string) error {
	switch {
	case strings.IndexByte(id, 0) >= 0:
		return model.Invalid(field, "contains a NUL character (\\u0000)")
	case len(id) > wire.MaxIDBytes:
		return model.Invalid(field, "is %d bytes long; at most %d are allowed", len(id), wire.MaxIDBytes)
	}
	return nil
}

// unknownEventType refuses an event type, naming the known types nearest
// to it.
func unknownEventType(t string) error {
	closest := model.Closest(t, EventTypes(), 3)
	// Offer as meant only the nearest, and only when near.
	var near []string
	for _, c := range closest {
		if model.Near(t, c) && model.EditDistance(t, c) == model.EditDistance(t, closest[0]) {
			near = append(near, fmt.Sprintf("%q", c))
		}
	}
	if len(near) > 0 {
		return model.Invalid("eventType", "unknown event type %q; did you mean %s?", t, strings.Join(near, " or "))
	}
	for i, c := range closest {
		closest[i] = fmt.Sprintf("%q", c)
	}
	return model.Invalid("eventType", "unknown event type %q; the closest known types are %s", t, strings.Join(closest, ", "))
}
