package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// releaseTargetView is a release target as the API shows it, with what
// the engine decided for it.
type releaseTargetView struct {
	Key            string          `json:"key"`
	ResourceID     string          `json:"resourceId"`
	EnvironmentID  string          `json:"environmentId"`
	DeploymentID   string          `json:"deploymentId"`
	DesiredRelease *model.Release  `json:"desiredRelease,omitempty"`
	CurrentRelease *model.Release  `json:"currentRelease,omitempty"`
	LatestJob      *engine.JobView `json:"latestJob,omitempty"`
	// Reason says why the target has no new job, when the engine decided so.
	Reason             string     `json:"reason,omitempty"`
	NextEvaluationTime *time.Time `json:"nextEvaluationTime,omitempty"`
}

func viewTarget(r store.Reader, t *model.ReleaseTarget) releaseTargetView {
	v := releaseTargetView{Key: t.WireKey(), ResourceID: t.ResourceID, EnvironmentID: t.EnvironmentID, DeploymentID: t.DeploymentID,
		CurrentRelease: history.CurrentRelease(r, t.Key())}
	if j := history.LatestJob(r, t.Key()); j != nil {
		jv := engine.ViewJob(r, j)
		v.LatestJob = &jv
	}
	st, err := store.TargetStates.Get(r, t.Key())
	if err != nil {
		// The engine keeps no state for targets of deployments without
		// versions.
		v.Reason = "no version passes"
	} else {
		v.Reason = st.Reason
		if !st.NextEvaluation.IsZero() {
			next := st.NextEvaluation
			v.NextEvaluationTime = &next
		}
		if rel, err := store.Releases.Get(r, st.DesiredReleaseID); err == nil {
			v.DesiredRelease = rel
		}
	}
	return v
}

func (s *Server) listReleaseTargets(w http.ResponseWriter, r *http.Request) {
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := filterOf(r)
	var items []any
	for _, t := range f.candidates(snap) {
		if f.match(t) {
			items = append(items, viewTarget(snap, t))
		}
	}
	done()
	s.writePage(w, r, items)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	s.writeJobs(w, r, r.URL.Query().Get("jobAgentId"))
}

// writeJobs answers the workspace's jobs matching the request's filters
// and, when agent is not empty, of that agent.
func (s *Server) writeJobs(w http.ResponseWriter, r *http.Request, agent string) {
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := filterOf(r)
	status := r.URL.Query().Get("status")
	var items []any
	for _, j := range store.Jobs.Items(snap) {
		if (status != "" && j.Status != status) || (agent != "" && j.JobAgentID != agent) {
			continue
		}
		v := engine.ViewJob(snap, j)
		if f != (targetFilter{}) && (v.Release == nil || !f.match(&v.Release.ReleaseTarget)) {
			continue
		}
		items = append(items, v)
	}
	done()
	s.writePage(w, r, items)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := store.Jobs.Get(snap, r.PathValue("id"))
	if errors.Is(err, model.ErrNotFound) || err != nil {
		s.writeError(w, r, err)
		return
	}
	v := engine.ViewJob(snap, j)
	done()
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) getReleaseTarget(w http.ResponseWriter, r *http.Request) {
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := engine.FindTarget(snap, r.PathValue("key"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := viewTarget(snap, t)
	done()
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) evaluateReleaseTarget(w http.ResponseWriter, r *http.Request) {
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ev, err := s.engine.Evaluate(snap, r.PathValue("key"), r.URL.Query().Get("versionId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	done()
	writeJSON(w, http.StatusOK, ev)
}

// relationView is one relation of an entity as the API shows it.
type relationView struct {
	Rule       *model.RelationshipRule `json:"rule"`
	Direction  string                  `json:"direction"`
	EntityType string                  `json:"entityType"`
	EntityID   string                  `json:"entityId"`
	Entity     map[string]any          `json:"entity"`
}

func (s *Server) resourceRelations(w http.ResponseWriter, r *http.Request) {
	snap, done, err := s.snapshot(r)
	defer done()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rels, err := s.engine.Relations(snap, model.EntityResource, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]any, 0, len(rels))
	for _, rel := range rels {
		items = append(items, relationView{Rule: rel.Rule.Model(), Direction: rel.Direction, EntityType: rel.EntityType,
			EntityID: rel.EntityID, Entity: rel.Entity})
	}
	done()
	s.writePage(w, r, items)
}
