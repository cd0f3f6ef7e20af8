package engine

import (
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Evaluation explains a target's decision for one version: every policy
// and rule that applied, with its outcome.
type Evaluation struct {
	ReleaseTarget *model.ReleaseTarget `json:"releaseTarget"`
	VersionEvaluation
	// NextEvaluationTime is when the decision may change by itself.
	NextEvaluationTime *time.Time `json:"nextEvaluationTime,omitempty"`
	// Frozen, when freezes hold the target's jobs, says so ("frozen by
	// <reason> until <time>"); Freezes are those freezes.
	Frozen  string          `json:"frozen,omitempty"`
	Freezes []*model.Freeze `json:"freezes,omitempty"`
}

// Evaluate answers, without changing anything, how the target's policies
// judge a version now, reading snap (a workspace's Store().Read()). An empty versionID means the deployment's newest
// version.
//
// targetKey is read as FindTarget reads it.
func (e *Engine) Evaluate(snap store.Reader, targetKey, versionID string) (*Evaluation, error) {
	t, err := FindTarget(snap, targetKey)
	if err != nil {
		return nil, err
	}
	var v *model.DeploymentVersion
	if versionID == "" {
		versions := history.Versions(snap, t.DeploymentID)
		if len(versions) == 0 {
			return nil, model.Errorf(model.ENOTFOUND, "deployment %s has no versions", t.DeploymentID)
		}
		v = versions[0]
	} else {
		v, err = store.DeploymentVersions.Get(snap, versionID)
		if errors.Is(err, model.ErrNotFound) {
			return nil, model.Errorf(model.ENOTFOUND, "version %q not found", versionID)
		}
		if err != nil {
			return nil, err
		}
		if v.DeploymentID != t.DeploymentID {
			return nil, model.Invalid("versionId", "version %s belongs to another deployment", versionID)
		}
	}
	p, err := newPlanner(snap, e.cfg.Clock().UTC())
	if err != nil {
		return nil, err
	}
	te, err := loadTarget(snap, t)
	if err != nil {
		return nil, err
	}
	policies, err := p.matchingPolicies(te)
	if err != nil {
		return nil, err
	}
	res := p.evaluateVersion(te, policies, v)
	ev := &Evaluation{ReleaseTarget: t, VersionEvaluation: res.VersionEvaluation, NextEvaluationTime: res.next}
	hold, err := p.frozen(te)
	if err != nil {
		return nil, err
	}
	if hold != nil {
		ev.Frozen, ev.Freezes = hold.message(), hold.freezes
		ev.NextEvaluationTime = earliest(ev.NextEvaluationTime, hold.until)
	}
	return ev, nil
}

// Relations returns every relation of one entity, both directions.
func (e *Engine) Relations(snap store.Reader, entityType, id string) ([]Relation, error) {
	if _, ok := entityVars(snap, entityType, id); !ok {
		return nil, model.Errorf(model.ENOTFOUND, "%s %q not found", entityType, id)
	}
	idx, err := newRelationIndex(snap)
	if err != nil {
		return nil, err
	}
	return idx.related(entityType, id), nil
}
