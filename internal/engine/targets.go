package engine

import (
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Release targets are maintained incrementally, from what changed:
//   - a resource is matched against every environment and deployment
//     selector (E + D evaluations);
//   - an environment (or deployment) is matched against every resource, and
//     each resource it selects against the deployments (environments) it
//     shares a system with;
//   - a link change re-syncs the linked environment or deployment.
// The target table itself remembers the outcome; nothing else is kept.

// syncResource makes the targets of one resource match the selectors and
// links. A resource that no longer exists keeps no targets.
func (u *unit) syncResource(resourceID string) error {
	want := map[string]*model.ReleaseTarget{}
	// A target needs an environment and a deployment: without both
	// there is nothing to match (resources often come first).
	r, err := store.Resources.Get(u.tx, resourceID)
	if err == nil && store.Environments.Count(u.tx) > 0 && store.Deployments.Count(u.tx) > 0 {
		vars := map[string]any{"resource": resourceVars(r)}
		var envs, deps []string
		for _, env := range store.Environments.Items(u.tx) {
			vars["environment"] = func() map[string]any { return environmentVars(env) }
			if compileResourceSelector(u.engine.cfg.Logger, env.ResourceSelector).Match(vars) {
				envs = append(envs, env.ID)
			}
		}
		delete(vars, "environment")
		for _, dep := range store.Deployments.Items(u.tx) {
			vars["deployment"] = func() map[string]any { return deploymentVars(dep) }
			if compileResourceSelector(u.engine.cfg.Logger, dep.ResourceSelector).Match(vars) {
				deps = append(deps, dep.ID)
			}
		}
		// Each deployment's links are read once, not once per environment.
		depLinks := make([][]*model.SystemDeploymentLink, len(deps))
		for i, d := range deps {
			depLinks[i] = store.DeploymentLinksByDeployment.Get(u.tx, d)
		}
		for _, e := range envs {
			envLinks := store.EnvironmentLinksByEnvironment.Get(u.tx, e)
			for i, d := range deps {
				if linksShareSystem(envLinks, depLinks[i]) {
					t := model.NewReleaseTarget(resourceID, e, d)
					want[t.Key()] = t
				}
			}
		}
	}
	return u.reconcileTargets(store.TargetsByResource.Get(u.tx, resourceID), want)
}

// syncEnvironment makes the targets of one environment match: every
// resource it selects, paired with every deployment sharing a system with it
// that selects the resource too.
func (u *unit) syncEnvironment(envID string) error {
	want := map[string]*model.ReleaseTarget{}
	if env, err := store.Environments.Get(u.tx, envID); err == nil {
		deps := deploymentsSharingSystem(u.tx, envID)
		err := u.crossMatch(env.ResourceSelector, "environment", environmentVars(env), len(deps), func(i int) (*model.Selector, map[string]any) {
			return deps[i].ResourceSelector, deploymentVars(deps[i])
		}, "deployment", func(r string, i int) {
			t := model.NewReleaseTarget(r, envID, deps[i].ID)
			want[t.Key()] = t
		})
		if err != nil {
			return err
		}
	}
	return u.reconcileTargets(store.TargetsByEnvironment.Get(u.tx, envID), want)
}

// syncDeployment is syncEnvironment's mirror for a deployment.
func (u *unit) syncDeployment(depID string) error {
	want := map[string]*model.ReleaseTarget{}
	if dep, err := store.Deployments.Get(u.tx, depID); err == nil {
		envs := environmentsSharingSystem(u.tx, depID)
		err := u.crossMatch(dep.ResourceSelector, "deployment", deploymentVars(dep), len(envs), func(i int) (*model.Selector, map[string]any) {
			return envs[i].ResourceSelector, environmentVars(envs[i])
		}, "environment", func(r string, i int) {
			t := model.NewReleaseTarget(r, envs[i].ID, depID)
			want[t.Key()] = t
		})
		if err != nil {
			return err
		}
	}
	return u.reconcileTargets(store.TargetsByDeployment.Get(u.tx, depID), want)
}

// crossMatch evaluates the owner's selector over every resource and, for each
// resource it selects, the n partner selectors; add is called for every
// (resource, partner) pair where both select the resource.
func (u *unit) crossMatch(sel *model.Selector, ownerVar string, owner map[string]any, n int,
	partner func(i int) (*model.Selector, map[string]any), partnerVar string, add func(resourceID string, i int)) error {
	if n == 0 {
		return nil
	}
	m := compileResourceSelector(u.engine.cfg.Logger, sel)
	type compiled struct {
		m    interface{ Match(map[string]any) bool }
		vars map[string]any
	}
	partners := make([]compiled, n)
	for i := range n {
		psel, pvars := partner(i)
		partners[i] = compiled{compileResourceSelector(u.engine.cfg.Logger, psel), pvars}
	}
	for _, r := range store.Resources.Items(u.tx) {
		rv := resourceVars(r)
		if !m.Match(map[string]any{"resource": rv, ownerVar: owner}) {
			continue
		}
		for i, p := range partners {
			if p.m.Match(map[string]any{"resource": rv, partnerVar: p.vars}) {
				add(r.ID, i)
			}
		}
	}
	return nil
}

// deploymentsSharingSystem returns the deployments linked to a system the
// environment is linked to, each once.
func deploymentsSharingSystem(r store.Reader, envID string) []*model.Deployment {
	seen := map[string]bool{}
	var out []*model.Deployment
	for _, el := range store.EnvironmentLinksByEnvironment.Get(r, envID) {
		for _, dl := range store.DeploymentLinksBySystem.Get(r, el.SystemID) {
			if d, err := store.Deployments.Get(r, dl.DeploymentID); err == nil && !seen[d.ID] {
				seen[d.ID] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// environmentsSharingSystem is deploymentsSharingSystem's mirror.
func environmentsSharingSystem(r store.Reader, depID string) []*model.Environment {
	seen := map[string]bool{}
	var out []*model.Environment
	for _, dl := range store.DeploymentLinksByDeployment.Get(r, depID) {
		for _, el := range store.EnvironmentLinksBySystem.Get(r, dl.SystemID) {
			if e, err := store.Environments.Get(r, el.EnvironmentID); err == nil && !seen[e.ID] {
				seen[e.ID] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// linksShareSystem reports whether an environment's and a deployment's links
// name at least one common system.
func linksShareSystem(envLinks []*model.SystemEnvironmentLink, depLinks []*model.SystemDeploymentLink) bool {
	for _, dl := range depLinks {
		for _, el := range envLinks {
			if el.SystemID == dl.SystemID {
				return true
			}
		}
	}
	return false
}

// reconcileTargets removes the existing targets not wanted and adds the
// wanted ones that are missing.
func (u *unit) reconcileTargets(existing []*model.ReleaseTarget, want map[string]*model.ReleaseTarget) error {
	for _, t := range existing {
		if _, ok := want[t.Key()]; ok {
			delete(want, t.Key())
			continue
		}
		if err := u.removeTarget(t); err != nil {
			return err
		}
	}
	for key, t := range want {
		if err := store.ReleaseTargets.Upsert(u.tx, key, t); err != nil {
			return err
		}
		u.markTarget(t)
	}
	return nil
}

// removeTarget deletes a target and cancels its processing jobs: a job for a
// target that no longer exists can never be acted upon correctly.
func (u *unit) removeTarget(t *model.ReleaseTarget) error {
	if err := store.ReleaseTargets.Remove(u.tx, t.Key()); err != nil {
		return err
	}
	if store.TargetStates.Has(u.tx, t.Key()) {
		if err := store.TargetStates.Remove(u.tx, t.Key()); err != nil {
			return err
		}
	}
	for _, j := range store.JobsByTarget.Get(u.tx, t.Key()) {
		if err := u.cancelJob(j, "release target removed"); err != nil {
			return err
		}
	}
	return nil
}

// cancelJob cancels a job that is still processing, saying why; others are
// left as they are.
func (u *unit) cancelJob(j *model.Job, why string) error {
	if !model.IsProcessingJobStatus(j.Status) {
		return nil
	}
	c := *j
	c.Status = model.JobCancelled
	c.UpdatedAt = u.tx.Now()
	c.CompletedAt = u.tx.Now()
	c.Message = why
	return store.Jobs.Upsert(u.tx, c.ID, &c)
}

// rebuildDerived computes the targets of a freshly loaded store.
func (u *unit) rebuildDerived() error {
	for _, env := range store.Environments.Items(u.tx) {
		if err := u.syncEnvironment(env.ID); err != nil {
			return err
		}
	}
	return nil
}
