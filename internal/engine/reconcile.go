package engine

import (
	"runtime"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"golang.org/x/sync/errgroup"

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
func (u *unit) reconcile() (err error) {
	if len(u.dirty) == 0 {
		return nil
	}
	end := traceTx(u.tx, "engine.Reconcile", attribute.Int("targets", len(u.dirty)))
	defer func() { end(err) }()
	p, err := newPlanner(u.engine.cfg.Logger, u.tx, u.tx.Now())
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(u.dirty))
	for k := range u.dirty {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	_, span := startSpan(u.tx.Context(), "engine.Plan", attribute.Int("targets", len(keys)))
	plans, err := p.computeAll(u.tx, keys, u.redeploy)
	endSpan(span, err)
	if err != nil {
		return err
	}
	for i, plan := range plans {
		if plan == nil {
			continue // removed by this event
		}
		if u.redeploy[keys[i]] && plan.Desired == nil {
			return model.Errorf(model.ECONFLICT, "release target %s has neither a desired nor a current release to redeploy",
				plan.Target.WireKey())
		}
		if err := u.applyPlan(plan); err != nil {
			return err
		}
	}
	return nil
}

// computeAll plans the targets with keys, in parallel: plans only read the
// transaction, and no plan depends on another's writes (each target's jobs
// and releases are its own), so they are computed first and applied after,
// in key order.
func (p *planner) computeAll(r store.Reader, keys []string, redeploy map[string]bool) ([]*Plan, error) {
	plans := make([]*Plan, len(keys))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(keys)/64))
	// plan computes every workers-th target from the w-th.
	plan := func(w int) error {
		for i := w; i < len(keys); i += workers {
			t, err := store.ReleaseTargets.Get(r, keys[i])
			if err != nil {
				continue
			}
			if plans[i], err = p.compute(t, redeploy[keys[i]]); err != nil {
				return err
			}
		}
		return nil
	}
	// Most events plan a handful of targets: a goroutine of their own
	// would cost more than the plans (it starts on a small stack that
	// planning grows, copying it, every time).
	if workers == 1 {
		return plans, plan(0)
	}
	var g errgroup.Group
	for w := range workers {
		g.Go(func() error { return plan(w) })
	}
	return plans, g.Wait()
}

// applyPlan writes what a plan decided: the desired release (once per
// content), the target's state, and the new jobs.
func (u *unit) applyPlan(plan *Plan) error {
	state := &model.TargetState{Key: plan.Target.Key(), ResourceID: plan.Target.ResourceID,
		DeploymentID: plan.Target.DeploymentID, WaitingOn: plan.WaitingOn, AwaitingApproval: plan.AwaitingApproval}
	prev, _ := store.TargetStates.Get(u.tx, state.Key)
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
	if err := u.saveState(state); err != nil {
		return err
	}
	if err := u.cancelSuperseded(plan); err != nil {
		return err
	}
	d := u.decided(plan, prev)
	if len(plan.Jobs) == 0 {
		return nil
	}
	te, err := loadTarget(u.tx, plan.Target)
	if err != nil {
		return err
	}
	for _, j := range newJobs(u.tx, te, plan.Desired, u.tx.Now(), plan.Jobs) {
		if err := u.captureSnapshots(j.DispatchContext); err != nil {
			return err
		}
		if err := store.Jobs.Upsert(u.tx, j.ID, j); err != nil {
			return err
		}
		d.jobs = append(d.jobs, j.ID)
		if err := u.startVerifications(j, triggerJobCreated); err != nil {
			return err
		}
	}
	return nil
}

// saveState records a target's decision. A target with nothing to show (no
// version at all, nothing to wait for) keeps no state, which spares the
// writes while a workspace is being populated.
func (u *unit) saveState(state *model.TargetState) error {
	empty := state.DesiredReleaseID == "" && state.NextEvaluation.IsZero() && len(state.WaitingOn) == 0 &&
		store.VersionsByDeployment.Count(u.tx, state.DeploymentID) == 0
	if !empty {
		return store.TargetStates.Upsert(u.tx, state.Key, state)
	}
	if store.TargetStates.Has(u.tx, state.Key) {
		return store.TargetStates.Remove(u.tx, state.Key)
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
