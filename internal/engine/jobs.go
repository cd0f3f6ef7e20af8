package engine

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// jobTarget returns the release target a job deploys to, or nil for a
// workflow job.
func jobTarget(r store.Reader, j *model.Job) *model.ReleaseTarget {
	if j.DispatchContext != nil && j.DispatchContext.Release != nil {
		t := j.DispatchContext.Release.ReleaseTarget
		return &t
	}
	if rel, err := store.Releases.Get(r, j.ReleaseID); err == nil {
		return &rel.ReleaseTarget
	}
	return nil
}

// jobStatusChanged reacts to a job's new status: a terminal job frees its
// target (re-evaluated now), a success can unblock other environments
// (progression) and other deployments on the resource (dependencies), and a
// failure can trigger a rollback.
func (u *unit) jobStatusChanged(before, j *model.Job) error {
	t := jobTarget(u.tx, j)
	if t == nil || !store.ReleaseTargets.Has(u.tx, t.Key()) {
		return nil
	}
	if err := u.startVerifications(j, triggerOf(j.Status)); err != nil {
		return err
	}
	if model.IsProcessingJobStatus(j.Status) {
		return nil
	}
	u.markTarget(t)
	u.markDependents(t)
	if j.Status == model.JobSuccessful {
		return nil
	}
	return u.rollback(t, j, func(rb *model.RollbackRule) bool { return slices.Contains(rb.OnJobStatuses, j.Status) })
}

// markWaiting marks the targets whose state says a rule of the kind held
// them back, for the deployment or resource id.
func (u *unit) markWaiting(kind, id string) {
	for _, st := range store.StatesWaitingOn.Get(u.tx, store.WaitingKey(kind, id)) {
		if t, err := store.ReleaseTargets.Get(u.tx, st.Key); err == nil {
			u.markTarget(t)
		}
	}
}

// rollback creates a job for the target's current release when a rollback
// rule of a matching policy wants it (wants says whether a rule applies to
// what happened) and the failed job was not for the current release already.
func (u *unit) rollback(t *model.ReleaseTarget, failed *model.Job, wants func(*model.RollbackRule) bool) error {
	if store.Policies.Count(u.tx) == 0 {
		return nil
	}
	p := &planner{logger: u.engine.cfg.Logger, r: u.tx, now: u.tx.Now(), policies: enabledPolicies(u.tx)}
	te, err := loadTarget(u.tx, t)
	if err != nil {
		return err
	}
	policies, err := p.matchingPolicies(te)
	if err != nil {
		return err
	}
	wanted := false
	for _, pol := range policies {
		for i := range pol.Rules {
			if rb := pol.Rules[i].Rollback; rb != nil && wants(rb) {
				wanted = true
			}
		}
	}
	current := history.CurrentRelease(u.tx, t.Key())
	if !wanted || current == nil || current.ID == failed.ReleaseID {
		return nil
	}
	// Roll back to exactly what ran before.
	rr := rerun(u.tx, t.Key(), current)
	for _, j := range newJobs(u.tx, te, rr, u.tx.Now(), chooseAgents(u.tx, te, current, nil)) {
		j.Metadata = map[string]string{metaRollbackOf: failed.ID}
		if err := store.Jobs.Upsert(u.tx, j.ID, j); err != nil {
			return err
		}
		if err := u.startVerifications(j, triggerJobCreated); err != nil {
			return err
		}
	}
	return nil
}
