package engine

import (
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The reconciler runs at the end of every unit of work, inside its
// transaction: the targets the event affected get a desired release and,
// when eligible, jobs — committed together with the event.

// markTarget queues one target for re-evaluation in this unit.
func (u *unit) markTarget(t *model.ReleaseTarget) {
	if u.dirty == nil {
		u.dirty = map[string]*model.ReleaseTarget{}
	}
	u.dirty[t.Key()] = t
}

func (u *unit) markTargets(ts []*model.ReleaseTarget) {
	for _, t := range ts {
		u.markTarget(t)
	}
}

func (u *unit) markDeployment(id string) { u.markTargets(store.TargetsByDeployment.Get(u.tx, id)) }

func (u *unit) markResource(id string) { u.markTargets(store.TargetsByResource.Get(u.tx, id)) }

func (u *unit) markEnvironment(id string) { u.markTargets(store.TargetsByEnvironment.Get(u.tx, id)) }

func (u *unit) markAll() { u.markTargets(store.ReleaseTargets.Items(u.tx)) }

// reconcile plans and applies every marked target that still exists, in key
// order so that the outcome never depends on map iteration.
func (u *unit) reconcile() error {
	if len(u.dirty) == 0 {
		return nil
	}
	p, err := newPlanner(u.tx, u.tx.Now())
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(u.dirty))
	for k := range u.dirty {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t, err := store.ReleaseTargets.Get(u.tx, k)
		if err != nil {
			continue // removed by this event
		}
		plan, err := p.compute(t, u.redeploy[k])
		if err != nil {
			return err
		}
		if u.redeploy[k] && plan.Desired == nil {
			return model.Errorf(model.ECONFLICT, "release target %s has no desired release to redeploy", k)
		}
		if err := u.applyPlan(p, plan); err != nil {
			return err
		}
	}
	return nil
}

// applyPlan writes what a plan decided: the desired release (once per
// content), the target's state, and the new jobs.
func (u *unit) applyPlan(p *planner, plan *Plan) error {
	state := &model.TargetState{Key: plan.Target.Key()}
	if plan.NextEvaluation != nil {
		state.NextEvaluation = *plan.NextEvaluation
		u.wake(*plan.NextEvaluation)
	}
	if plan.Desired != nil {
		rel := plan.Desired.release
		state.DesiredReleaseID = rel.ID
		if stored, err := store.Releases.Get(u.tx, rel.ID); err == nil {
			plan.Desired.release = stored
		} else {
			rel.CreatedAt = u.tx.Now()
			if err := store.Releases.Upsert(u.tx, rel.ID, rel); err != nil {
				return err
			}
		}
	}
	state.Reason = plan.Reason
	if err := store.TargetStates.Upsert(u.tx, state.Key, state); err != nil {
		return err
	}
	if !plan.CreateJob {
		return nil
	}
	te, err := loadTarget(u.tx, plan.Target)
	if err != nil {
		return err
	}
	for _, j := range newJobs(u.tx, te, plan.Desired, u.tx.Now()) {
		if err := store.Jobs.Upsert(u.tx, j.ID, j); err != nil {
			return err
		}
	}
	return nil
}

// wake asks the scheduler to evaluate the workspace again at t.
func (u *unit) wake(t time.Time) {
	if u.wakeAt.IsZero() || t.Before(u.wakeAt) {
		u.wakeAt = t
	}
}

// markRelated marks the targets of every entity related to the given one:
// their variables may reference it.
func (u *unit) markRelated(entityType, id string) error {
	if store.RelationshipRules.Count(u.tx) == 0 {
		return nil
	}
	idx, err := newRelationIndex(u.tx)
	if err != nil {
		return err
	}
	for _, rel := range idx.related(entityType, id) {
		switch rel.EntityType {
		case model.EntityResource:
			u.markResource(rel.EntityID)
		case model.EntityDeployment:
			u.markDeployment(rel.EntityID)
		case model.EntityEnvironment:
			u.markEnvironment(rel.EntityID)
		}
	}
	return nil
}
