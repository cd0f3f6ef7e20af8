package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// workflowRuns shows each run with its workflow jobs and their jobs.
var workflowRuns = collection{
	items: func(r store.Reader) []any {
		runs := store.WorkflowRuns.Items(r)
		out := make([]any, len(runs))
		for i, run := range runs {
			out[i] = engine.ViewWorkflowRun(r, run)
		}
		return out
	},
	get: func(r store.Reader, id string) (any, error) {
		run, err := store.WorkflowRuns.Get(r, id)
		if err != nil {
			return nil, err
		}
		return engine.ViewWorkflowRun(r, run), nil
	},
}

// createWorkflowRun starts a run, by the workflow's id or slug, as the
// event workflow-run.created does (an id is made when the body has none),
// and answers 201 with the run, its workflow jobs and their jobs.
func (s *Server) createWorkflowRun(w http.ResponseWriter, r *http.Request) {
	ws := r.PathValue("ws")
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		s.writeError(w, r, model.Invalid("body", "must be a JSON object: {workflowId or workflowSlug, inputs, id?}"))
		return
	}
	var id string
	if raw, ok := fields["id"]; ok {
		if err := json.Unmarshal(raw, &id); err != nil {
			s.writeError(w, r, model.Invalid("workflowRun.id", "must be a string"))
			return
		}
	}
	if id == "" {
		id = uuid.NewString()
		fields["id"], _ = json.Marshal(id)
	}
	data, _ := json.Marshal(fields)
	ev := engine.Event{Type: "workflow-run.created", Data: data, Caller: auth.CallerFrom(r.Context())}
	_, err = s.engine.ApplyBatch(r.Context(), ws, []engine.Event{ev})
	s.cfg.Events.Observe([]engine.Event{ev}, err)
	s.outages.record(ws, err)
	if err != nil {
		if ee := (*engine.EventError)(nil); errors.As(err, &ee) {
			err = ee.Err
		}
		s.writeError(w, r, err)
		return
	}
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	run, err := workflowRuns.get(snap, id)
	done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, run)
}
