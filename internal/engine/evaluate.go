package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
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
	ev, err := e.NewEvaluator(snap)
	if err != nil {
		return nil, err
	}
	return ev.Evaluate(t, v)
}

// Now is the engine's clock: the time its decisions are made at.
func (e *Engine) Now() time.Time { return e.cfg.Clock() }

// Evaluator answers Evaluate for many targets and versions of one
// snapshot, sharing what their evaluations have in common (the enabled
// policies, the relations, the rules' memo): the console explains every
// candidate of a page's targets with one. It reads the snapshot it was made
// from, so it must not outlive that read.
type Evaluator struct {
	p *planner
}

// NewEvaluator returns an Evaluator over snap, judging at the engine's
// current time.
func (e *Engine) NewEvaluator(snap store.Reader) (*Evaluator, error) {
	p, err := newPlanner(e.cfg.Logger, snap, e.cfg.Clock().UTC())
	if err != nil {
		return nil, err
	}
	return &Evaluator{p: p}, nil
}

// Evaluate judges version v on target t as Engine.Evaluate does; v must be
// a version of t's deployment.
func (ev *Evaluator) Evaluate(t *model.ReleaseTarget, v *model.DeploymentVersion) (*Evaluation, error) {
	te, err := loadTarget(ev.p.r, t)
	if err != nil {
		return nil, err
	}
	policies, err := ev.p.matchingPolicies(te)
	if err != nil {
		return nil, err
	}
	res := ev.p.evaluateVersion(te, policies, v)
	out := &Evaluation{ReleaseTarget: t, VersionEvaluation: res.VersionEvaluation, NextEvaluationTime: res.next}
	hold, err := ev.p.frozen(te)
	if err != nil {
		return nil, err
	}
	if hold != nil {
		out.Frozen, out.Freezes = hold.message(), hold.freezes
		out.NextEvaluationTime = earliest(out.NextEvaluationTime, hold.until)
	}
	return out, nil
}

// PolicyTargets returns, by policy id, the release targets whose entities
// each policy's selector matches, whether or not the policy is enabled: the
// targets its rules apply to, or would once enabled. A policy that matches
// nothing has an empty entry.
func PolicyTargets(snap store.Reader, policies []*model.Policy) (map[string][]*model.ReleaseTarget, error) {
	ids, exprs := make([]string, len(policies)), make([]string, len(policies))
	for i, pol := range policies {
		ids[i], exprs[i] = pol.ID, string(pol.Selector)
	}
	return selectedTargets(snap, "policy", ids, exprs)
}

// FreezeTargets returns, by freeze id, the release targets each freeze's
// selector picks, whether or not the freeze is still in force: the targets
// it holds, or held. A freeze that picks nothing has an empty entry.
func FreezeTargets(snap store.Reader, freezes []*model.Freeze) (map[string][]*model.ReleaseTarget, error) {
	ids, exprs := make([]string, len(freezes)), make([]string, len(freezes))
	for i, f := range freezes {
		ids[i], exprs[i] = f.ID, string(f.Selector)
	}
	return selectedTargets(snap, "freeze", ids, exprs)
}

// selectedTargets matches every release target against the selectors
// exprs (CEL in the policy environment, which freezes share), keyed by ids.
func selectedTargets(snap store.Reader, kind string, ids, exprs []string) (map[string][]*model.ReleaseTarget, error) {
	matchers := make([]*selector.Matcher, len(exprs))
	out := make(map[string][]*model.ReleaseTarget, len(ids))
	for i, expr := range exprs {
		m, err := policyEnv.CompileCEL(expr)
		if err != nil {
			return nil, fmt.Errorf("%s %s selector: %w", kind, ids[i], err)
		}
		matchers[i] = m
		out[ids[i]] = []*model.ReleaseTarget{}
	}
	for _, t := range store.ReleaseTargets.Items(snap) {
		te, err := loadTarget(snap, t)
		if err != nil {
			return nil, err
		}
		vars := te.vars()
		for i, m := range matchers {
			if m.Match(vars) {
				out[ids[i]] = append(out[ids[i]], t)
			}
		}
	}
	return out, nil
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
