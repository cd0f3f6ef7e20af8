package apply

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

// EventError is a batch the server stopped at one event of.
type EventError struct {
	// Change is the change whose event failed.
	Change *Change
	// Applied is how many events of the batch were applied before it.
	Applied, Total int
	Err            error
}

// Error names the entity, its manifest and what the server said.
func (e *EventError) Error() string {
	where := ""
	if e.Change.Doc != nil {
		where = " (" + e.Change.Doc.Where() + ")"
	}
	return fmt.Sprintf("%s %s%s: %v (event %d of %d; the events before it were applied)", e.Change.Kind.Name,
		e.Change.Name, where, e.Err, e.Applied+1, e.Total)
}

// Unwrap returns the server's error.
func (e *EventError) Unwrap() error { return e.Err }

// Run makes the client's workspace hold what docs declare and returns
// the plan it carried out; with dryRun it only computes the plan. After
// sending it reads the state again: what still differs (a batch the server
// took for an earlier one of the same content) is sent once more with
// fresh event ids, and what differs after that is an error.
func Run(ctx context.Context, c *client.Client, docs []manifest.Document, opt Options, dryRun bool) (*Plan, error) {
	compute := func(st *workspace.Snapshot, salt string) (*Plan, error) {
		desired, err := manifest.Resolve(c.Workspace(), docs, st)
		if err != nil {
			return nil, err
		}
		return (&planner{workspace: c.Workspace(), state: st, opt: opt, salt: salt}).plan(desired), nil
	}
	return carryOut(ctx, c, compute, dryRun)
}

// Remove deletes from the client's workspace every entity docs declare and
// returns the plan it carried out; with dryRun it only computes the plan.
func Remove(ctx context.Context, c *client.Client, docs []manifest.Document, dryRun bool) (*Plan, error) {
	compute := func(st *workspace.Snapshot, salt string) (*Plan, error) {
		desired, err := manifest.Resolve(c.Workspace(), docs, st)
		if err != nil {
			return nil, err
		}
		return (&planner{workspace: c.Workspace(), state: st, salt: salt}).deleting(desired), nil
	}
	return carryOut(ctx, c, compute, dryRun)
}

func carryOut(ctx context.Context, c *client.Client, compute func(*workspace.Snapshot, string) (*Plan, error), dryRun bool) (*Plan, error) {
	st, err := workspace.Read(ctx, c)
	if err != nil {
		return nil, err
	}
	plan, err := compute(st, "")
	if err != nil || dryRun || plan.Empty() {
		return plan, err
	}
	if err := send(ctx, c, plan); err != nil {
		return plan, err
	}
	for attempt := 0; ; attempt++ {
		st, err := workspace.Read(ctx, c)
		if err != nil {
			return plan, fmt.Errorf("read back: %w", err)
		}
		salt, err := newSalt()
		if err != nil {
			return plan, err
		}
		left, err := compute(st, salt)
		if err != nil {
			return plan, fmt.Errorf("read back: %w", err)
		}
		if left.Empty() {
			return plan, nil
		}
		if attempt > 0 {
			return plan, fmt.Errorf("the server still differs from the manifests after applying: %s", describe(left))
		}
		if err := send(ctx, c, left); err != nil {
			return plan, err
		}
	}
}

// send posts the plan's events as one batch.
func send(ctx context.Context, c *client.Client, plan *Plan) error {
	events, owner := plan.Events()
	_, err := c.Send(ctx, events)
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Index != nil && *apiErr.Index >= 0 && *apiErr.Index < len(events) {
		i := *apiErr.Index
		return &EventError{Change: &plan.Changes[owner[i]], Applied: i, Total: len(events), Err: err}
	}
	if err != nil {
		return fmt.Errorf("send %d events: %w", len(events), err)
	}
	return nil
}

func newSalt() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("event id salt: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func describe(p *Plan) string {
	var parts []string
	for _, c := range p.Changes {
		s := fmt.Sprintf("%s %s/%s", c.Action, c.Kind.Name, c.Name)
		if len(c.Fields) > 0 {
			var paths []string
			for _, f := range c.Fields {
				paths = append(paths, f.Path)
			}
			s += " (" + strings.Join(paths, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
