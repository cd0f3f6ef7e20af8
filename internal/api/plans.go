package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// postPlan makes a deployment plan of the version in the body and answers
// it (201, with its address in Location). Only the plan is stored.
func (s *Server) postPlan(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, dep := r.PathValue("ws"), r.PathValue("id")
	plan, err := s.engine.PlanDeployment(r.Context(), ws, dep, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/workspaces/"+ws+"/deployments/"+dep+"/plans/"+plan.ID)
	writeJSON(w, http.StatusCreated, plan)
}

// getPlan answers a stored plan of the deployment.
func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) {
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	plan, err := s.engine.DeploymentPlan(snap, r.PathValue("id"), r.PathValue("planId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	done()
	writeJSON(w, http.StatusOK, plan)
}

// eligibleVersions answers, paged, the versions a target may deploy now,
// newest first: excludeRules (comma-separated rule ids or kinds) as if
// those rules were skipped, filter (CEL over version) narrowing them.
func (s *Server) eligibleVersions(w http.ResponseWriter, r *http.Request) {
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := engine.EligibleQuery{Filter: r.URL.Query().Get("filter")}
	for _, param := range r.URL.Query()["excludeRules"] {
		q.ExcludeRules = append(q.ExcludeRules, strings.Split(param, ",")...)
	}
	versions, err := s.engine.EligibleVersions(snap, r.PathValue("key"), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	done()
	items := make([]any, len(versions))
	for i, v := range versions {
		items[i] = v
	}
	s.writePage(w, r, items)
}
