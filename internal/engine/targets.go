package engine

import (
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Release targets are maintained incrementally. Two derived tables remember
// which resources each environment and each deployment selects, so a change
// to one entity costs selector evaluations for that entity only:
//   - a resource is matched against every environment and deployment;
//   - an environment or a deployment is matched against every resource;
//   - a link change re-pairs the environments and deployments of one system.
// Targets are then the pairs (environment, deployment) sharing a system,
// crossed with the resources both select.

// matchResource evaluates the resource against every environment and
// deployment selector and updates its memberships.
func (u *unit) matchResource(r *model.Resource) error {
	vars := map[string]any{"resource": resourceVars(r)}
	for _, env := range store.Environments.Items(u.tx) {
		m, err := compileResourceSelector(env.ResourceSelector)
		if err != nil {
			return err
		}
		vars["environment"] = environmentVars(env)
		if err := setMembership(u.tx, store.EnvironmentResources, env.ID, r.ID, m.Match(vars)); err != nil {
			return err
		}
	}
	delete(vars, "environment")
	for _, dep := range store.Deployments.Items(u.tx) {
		m, err := compileResourceSelector(dep.ResourceSelector)
		if err != nil {
			return err
		}
		vars["deployment"] = deploymentVars(dep)
		if err := setMembership(u.tx, store.DeploymentResources, dep.ID, r.ID, m.Match(vars)); err != nil {
			return err
		}
	}
	return nil
}

// matchOwner re-evaluates one environment's or deployment's selector against
// every resource. ownerVar is "environment" or "deployment".
func (u *unit) matchOwner(table *store.Table[model.Membership], ownerID string, sel *model.Selector, ownerVar string, owner map[string]any) error {
	m, err := compileResourceSelector(sel)
	if err != nil {
		return err
	}
	vars := map[string]any{ownerVar: owner}
	for _, r := range store.Resources.Items(u.tx) {
		vars["resource"] = resourceVars(r)
		if err := setMembership(u.tx, table, ownerID, r.ID, m.Match(vars)); err != nil {
			return err
		}
	}
	return nil
}

func setMembership(tx *store.Tx, table *store.Table[model.Membership], ownerID, resourceID string, member bool) error {
	m := &model.Membership{OwnerID: ownerID, ResourceID: resourceID}
	has := table.Has(tx, m.Key())
	switch {
	case member && !has:
		return table.Upsert(tx, m.Key(), m)
	case !member && has:
		return table.Remove(tx, m.Key())
	}
	return nil
}

// removeMemberships drops every membership of an owner (or of a resource,
// through the other lookup).
func removeMemberships(tx *store.Tx, table *store.Table[model.Membership], members []*model.Membership) error {
	for _, m := range members {
		if err := table.Remove(tx, m.Key()); err != nil {
			return err
		}
	}
	return nil
}

// sharesSystem reports whether an environment and a deployment are linked to
// at least one common system.
func sharesSystem(r store.Reader, environmentID, deploymentID string) bool {
	envLinks := store.EnvironmentLinksByEnvironment.Get(r, environmentID)
	if len(envLinks) == 0 {
		return false
	}
	for _, dl := range store.DeploymentLinksByDeployment.Get(r, deploymentID) {
		for _, el := range envLinks {
			if el.SystemID == dl.SystemID {
				return true
			}
		}
	}
	return false
}

// syncResourceTargets makes the targets of one resource match its
// memberships and the system links.
func (u *unit) syncResourceTargets(resourceID string) error {
	want := map[string]*model.ReleaseTarget{}
	deps := store.DeploymentResourcesByResource.Get(u.tx, resourceID)
	if len(deps) > 0 {
		for _, em := range store.EnvironmentResourcesByResource.Get(u.tx, resourceID) {
			for _, dm := range deps {
				if sharesSystem(u.tx, em.OwnerID, dm.OwnerID) {
					t := &model.ReleaseTarget{ResourceID: resourceID, EnvironmentID: em.OwnerID, DeploymentID: dm.OwnerID}
					want[t.Key()] = t
				}
			}
		}
	}
	return u.reconcileTargets(store.TargetsByResource.Get(u.tx, resourceID), want)
}

// syncPair makes the targets of one (environment, deployment) pair match.
func (u *unit) syncPair(environmentID, deploymentID string) error {
	want := map[string]*model.ReleaseTarget{}
	if sharesSystem(u.tx, environmentID, deploymentID) {
		for _, em := range store.EnvironmentResourcesByOwner.Get(u.tx, environmentID) {
			key := (&model.Membership{OwnerID: deploymentID, ResourceID: em.ResourceID}).Key()
			if store.DeploymentResources.Has(u.tx, key) {
				t := &model.ReleaseTarget{ResourceID: em.ResourceID, EnvironmentID: environmentID, DeploymentID: deploymentID}
				want[t.Key()] = t
			}
		}
	}
	return u.reconcileTargets(store.TargetsByPair.Get(u.tx, store.PairKey(environmentID, deploymentID)), want)
}

// syncEnvironment re-pairs one environment with every deployment.
func (u *unit) syncEnvironment(environmentID string) error {
	for _, d := range store.Deployments.Items(u.tx) {
		if err := u.syncPair(environmentID, d.ID); err != nil {
			return err
		}
	}
	return nil
}

// syncDeployment re-pairs one deployment with every environment.
func (u *unit) syncDeployment(deploymentID string) error {
	for _, e := range store.Environments.Items(u.tx) {
		if err := u.syncPair(e.ID, deploymentID); err != nil {
			return err
		}
	}
	return nil
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
		if !model.IsProcessingJobStatus(j.Status) {
			continue
		}
		c := *j
		c.Status = model.JobCancelled
		c.UpdatedAt = u.tx.Now()
		c.CompletedAt = u.tx.Now()
		c.Message = "release target removed"
		if err := store.Jobs.Upsert(u.tx, c.ID, &c); err != nil {
			return err
		}
	}
	return nil
}

// rebuildDerived computes memberships and targets from a freshly loaded
// store.
func (u *unit) rebuildDerived() error {
	for _, env := range store.Environments.Items(u.tx) {
		if err := u.matchOwner(store.EnvironmentResources, env.ID, env.ResourceSelector, "environment", environmentVars(env)); err != nil {
			return err
		}
	}
	for _, dep := range store.Deployments.Items(u.tx) {
		if err := u.matchOwner(store.DeploymentResources, dep.ID, dep.ResourceSelector, "deployment", deploymentVars(dep)); err != nil {
			return err
		}
	}
	for _, env := range store.Environments.Items(u.tx) {
		if err := u.syncEnvironment(env.ID); err != nil {
			return err
		}
	}
	return nil
}
