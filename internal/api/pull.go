package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents/dispatch"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The pull protocol (SPEC §8): runners of a custom agent list its pending
// jobs, claim one (atomically, with a lease), extend the lease with
// heartbeats while they work, and report by job.updated. A lease that runs
// out puts the job back to pending for another runner.

// Lease bounds, in seconds.
const (
	defaultLeaseSeconds = 300
	maxLeaseSeconds     = 24 * 60 * 60
)

// listAgentJobs answers an agent's jobs (filters as for jobs; a runner
// asks with status=pending).
func (s *Server) listAgentJobs(w http.ResponseWriter, r *http.Request) {
	s.writeJobs(w, r, r.PathValue("id"))
}

// claimJob hands a pending job to the runner asking and answers the job
// with its dispatch context, sensitive values opened and templates
// rendered: what the runner needs to do the work.
func (s *Server) claimJob(w http.ResponseWriter, r *http.Request) {
	lease, err := leaseOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, id := r.PathValue("ws"), r.PathValue("id")
	if _, err := s.engine.Load(r.Context(), ws); err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.engine.Claim(r.Context(), ws, id, lease)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var typ = s.cfg.Agents[agentTypeOf(j)]
	aj, err := dispatch.Prepare(snap, ws, j, typ, s.cfg.Opener)
	done()
	if err != nil {
		// The runner has the job; what it cannot be given is said, and the
		// job stays claimed for the runner to report on.
		s.writeError(w, r, model.Errorf(model.ECONFLICT, "job %s was claimed but cannot be handed over: %v", id, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(aj.Document)
}

// heartbeatJob extends the lease of a claimed job.
func (s *Server) heartbeatJob(w http.ResponseWriter, r *http.Request) {
	lease, err := leaseOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, id := r.PathValue("ws"), r.PathValue("id")
	if _, err := s.engine.Load(r.Context(), ws); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.engine.Heartbeat(r.Context(), ws, id, lease); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.getJob(w, r)
}

// leaseOf reads {"leaseSeconds": n} (the body may be empty: the default
// lease).
func leaseOf(r *http.Request) (time.Duration, error) {
	var body struct {
		LeaseSeconds *int `json:"leaseSeconds"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return 0, model.Invalid("body", "want {\"leaseSeconds\": n}: %v", err)
	}
	secs := defaultLeaseSeconds
	if body.LeaseSeconds != nil {
		secs = *body.LeaseSeconds
	}
	if secs < 1 || secs > maxLeaseSeconds {
		return 0, model.Invalid("leaseSeconds", "must be between 1 and %d", maxLeaseSeconds)
	}
	return time.Duration(secs) * time.Second, nil
}

func agentTypeOf(j *model.Job) string {
	if j.DispatchContext == nil {
		return ""
	}
	return j.DispatchContext.JobAgent.Type
}

// jobByID finds a job in any workspace this process holds: job ids are
// UUIDs, unique across workspaces, and webhooks from agents name the job
// only.
func (s *Server) jobByID(id string) (string, *model.Job, bool) {
	for _, ws := range s.engine.Workspaces() {
		w, ok := s.engine.Workspace(ws)
		if !ok {
			continue
		}
		if j, err := store.Jobs.Get(w.Store().Snapshot(), id); err == nil {
			return ws, j, true
		}
	}
	return "", nil, false
}
