package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/ingest"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Submitter takes events requests instead of this process applying them:
// with Kafka, they are produced to the workspace's partition and answered
// once the owner committed them (kafka.Intake).
type Submitter interface {
	// Submit hands over the request's body, holding n events, and
	// returns what the owner did; ingest.ErrNoAnswer when it did not say
	// in time.
	Submit(ctx context.Context, ws string, body []byte, n int, caller *model.Caller) (ingest.Submitted, error)
}

// deadLetters lists a workspace's dead letters by topic, partition and
// offset: the order they arrived in.
var deadLetters = collection{
	items: func(r store.Reader) []any {
		dls := store.DeadLetters.Items(r)
		slices.SortFunc(dls, func(a, b *model.DeadLetter) int {
			return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
		})
		out := make([]any, len(dls))
		for i, d := range dls {
			out[i] = d
		}
		return out
	},
	get: func(r store.Reader, id string) (any, error) { return store.DeadLetters.Get(r, id) },
}

// submitEvents is postEvents with a Submitter: the same answers, given
// once the workspace's owner committed the events (or refused them).
func (s *Server) submitEvents(w http.ResponseWriter, r *http.Request, ws string, body []byte, events []engine.Event) {
	out, err := s.cfg.Submitter.Submit(r.Context(), ws, body, len(events), auth.CallerFrom(r.Context()))
	if err == nil && out.DeadLetter != nil {
		err = model.Errorf(out.DeadLetter.Code, "%s", out.DeadLetter.Error)
		if i := out.DeadLetter.Index; i != nil && *i < len(events) {
			// Counted as the engine's answer would be: the events before
			// the refused one applied, those after it never tried.
			err = &engine.EventError{Index: *i, Applied: out.DeadLetter.Applied, Type: events[*i].Type, Err: err}
		}
	}
	s.cfg.Events.Observe(events, err)
	s.outages.record(ws, err)
	switch {
	case errors.Is(err, ingest.ErrNoAnswer):
		s.writeEventsError(w, r, &statusError{status: http.StatusGatewayTimeout,
			err: model.Errorf(model.EUNAVAILABLE, "%v", err)})
	case out.DeadLetter != nil:
		dl := out.DeadLetter
		body := errorBody{Error: dl.Error, Code: dl.Code, Field: dl.Field, Index: dl.Index, Applied: &dl.Applied}
		if dl.Code == model.EINTERNAL {
			body.Error, body.Field = "internal error", ""
		}
		writeJSON(w, statusOf(err), body)
	case err != nil:
		s.writeEventsError(w, r, err)
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{"applied": out.Applied})
	}
}

// deleteWorkspace applies workspace.deleted: every row of the workspace
// goes, in one transaction, and it leaves memory. 204 when it is gone, 404
// when it never existed.
func (s *Server) deleteWorkspace(w http.ResponseWriter, r *http.Request) {
	ws := r.PathValue("ws")
	if err := s.exists(r.Context(), ws); err != nil {
		s.writeError(w, r, err)
		return
	}
	event := []byte(`{"eventType": "workspace.deleted", "data": {}}`)
	var err error
	if s.cfg.Submitter != nil {
		var out ingest.Submitted
		if out, err = s.cfg.Submitter.Submit(r.Context(), ws, event, 1, auth.CallerFrom(r.Context())); err == nil && out.DeadLetter != nil {
			err = model.Errorf(out.DeadLetter.Code, "%s", out.DeadLetter.Error)
		}
	} else {
		err = s.engine.Apply(r.Context(), ws, []engine.Event{{Type: "workspace.deleted", Data: []byte(`{}`)}})
	}
	if errors.Is(err, ingest.ErrNoAnswer) {
		err = &statusError{status: http.StatusGatewayTimeout, err: model.Errorf(model.EUNAVAILABLE, "%v", err)}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// exists returns nil when workspace ws exists, ENOTFOUND when not. With a
// Submitter the request was not forwarded: the router knows whether another
// process holds the workspace; else this process loads it.
func (s *Server) exists(ctx context.Context, ws string) error {
	if s.cfg.Submitter != nil && s.cfg.Router != nil {
		addr, err := s.cfg.Router.Route(ctx, ws, false)
		if err != nil || addr != "" {
			return err
		}
	}
	_, err := s.engine.Load(ctx, ws)
	return err
}

// listWorkspaces answers every stored workspace (Config.Workspaces), or
// with none configured, those in memory.
func (s *Server) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	var items []any
	if s.cfg.Workspaces != nil {
		all, err := s.cfg.Workspaces(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, ws := range all {
			items = append(items, ws)
		}
		s.writePage(w, r, items)
		return
	}
	for _, id := range s.engine.Workspaces() {
		if ws, ok := s.engine.Workspace(id); ok {
			if v, err := store.Workspaces.Get(ws.Store().Snapshot(), id); err == nil {
				items = append(items, v)
			}
		}
	}
	s.writePage(w, r, items)
}
