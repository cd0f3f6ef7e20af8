package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/agents/github"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// githubWebhook takes GitHub's workflow_run deliveries (SPEC §8): a run
// started for a job (its title names the job id) reports the job's status
// at once, instead of at the next poll. Deliveries are verified by the
// webhook secret; events of other kinds, and runs that name no job this
// process holds, are acknowledged and ignored.
func (s *Server) githubWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := github.VerifySignature(s.cfg.GitHubWebhookSecret, body, r.Header.Get(github.SignatureHeader)); err != nil {
		s.writeError(w, r, model.Errorf(model.EUNAUTHORIZED, "%v", err))
		return
	}
	switch r.Header.Get(github.EventHeader) {
	case github.EventPing:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	case github.EventWorkflowRun:
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"ignored": "not a workflow_run event"})
		return
	}
	ev, err := github.ParseWorkflowRun(body)
	if err != nil {
		s.writeError(w, r, model.Invalid("body", "%v", err))
		return
	}
	ws, _, ok := s.jobByID(ev.JobID)
	if ev.JobID == "" || !ok {
		writeJSON(w, http.StatusAccepted, map[string]string{"ignored": "the run names no job of this server"})
		return
	}
	u := ev.Update
	report := engine.FollowReport{JobID: ev.JobID, Status: u.Status, ExternalID: strconv.FormatInt(ev.RunID, 10),
		Message: u.Message, Links: u.Links}
	if err := s.engine.RecordFollows(r.Context(), ws, []engine.FollowReport{report}); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"job": ev.JobID, "status": u.Status})
}
