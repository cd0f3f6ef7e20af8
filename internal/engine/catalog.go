package engine

import (
	"encoding/json"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The catalog kinds (systems, environments, deployments, resources and the
// links between them) decide release targets.

var systemKind = entityKind[model.System]{
	name: "system", table: store.Systems,
	check: func(u *unit, s *model.System) error {
		s.WorkspaceID = u.tx.WorkspaceID()
		return nil
	},
	beforeRemove: func(u *unit, s *model.System) error {
		// Unlink everything first so that pairs re-sync without this system.
		for _, l := range store.DeploymentLinksBySystem.Get(u.tx, s.ID) {
			if err := deploymentLinks.set(u, l, false); err != nil {
				return err
			}
		}
		for _, l := range store.EnvironmentLinksBySystem.Get(u.tx, s.ID) {
			if err := environmentLinks.set(u, l, false); err != nil {
				return err
			}
		}
		return nil
	},
}

var environmentKind = entityKind[model.Environment]{
	name: "environment", table: store.Environments,
	check: func(u *unit, e *model.Environment) error {
		if e.CreatedAt.IsZero() {
			e.CreatedAt = u.tx.Now()
		}
		return checkSelector("environment.resourceSelector", e.ResourceSelector, selector.ResourceEnv())
	},
	afterUpsert: func(u *unit, _, e *model.Environment) error {
		// Any field may appear in a CEL selector, so every update re-matches.
		if err := u.syncEnvironment(e.ID); err != nil {
			return err
		}
		u.markEnvironment(e.ID)
		return u.markRelated(model.EntityEnvironment, e.ID)
	},
	beforeRemove: func(u *unit, e *model.Environment) error {
		for _, l := range store.EnvironmentLinksByEnvironment.Get(u.tx, e.ID) {
			if err := store.SystemEnvironments.Remove(u.tx, l.Key()); err != nil {
				return err
			}
		}
		return nil
	},
	afterRemove: func(u *unit, e *model.Environment) error { return u.syncEnvironment(e.ID) },
}

var deploymentKind = entityKind[model.Deployment]{
	name: "deployment", table: store.Deployments,
	check: func(u *unit, d *model.Deployment) error {
		if d.JobAgentConfig == nil {
			d.JobAgentConfig = map[string]any{}
		}
		if d.Metadata == nil {
			d.Metadata = map[string]string{}
		}
		for i, a := range d.JobAgents {
			if err := checkCEL("deployment.jobAgents["+strconv.Itoa(i)+"].selector", a.Selector, jobAgentEnv); err != nil {
				return err
			}
		}
		if err := u.checkDeploymentAgents(d); err != nil {
			return err
		}
		return checkSelector("deployment.resourceSelector", d.ResourceSelector, selector.ResourceEnv())
	},
	afterUpsert: func(u *unit, _, d *model.Deployment) error {
		if err := u.syncDeployment(d.ID); err != nil {
			return err
		}
		u.markDeployment(d.ID)
		return u.markRelated(model.EntityDeployment, d.ID)
	},
	beforeRemove: func(u *unit, d *model.Deployment) error {
		for _, l := range store.DeploymentLinksByDeployment.Get(u.tx, d.ID) {
			if err := store.SystemDeployments.Remove(u.tx, l.Key()); err != nil {
				return err
			}
		}
		// Versions and variables belong to the deployment and go with it.
		for _, v := range store.VersionsByDeployment.Get(u.tx, d.ID) {
			if err := store.DeploymentVersions.Remove(u.tx, v.ID); err != nil {
				return err
			}
		}
		for _, v := range store.VariablesByDeployment.Get(u.tx, d.ID) {
			if err := removeDeploymentVariable(u, v); err != nil {
				return err
			}
		}
		return nil
	},
	afterRemove: func(u *unit, d *model.Deployment) error { return u.syncDeployment(d.ID) },
}

var resourceKind = entityKind[model.Resource]{
	name: "resource", table: store.Resources,
	check: func(u *unit, r *model.Resource) error {
		r.WorkspaceID = u.tx.WorkspaceID()
		if r.CreatedAt.IsZero() {
			r.CreatedAt = u.tx.Now()
		}
		if other, err := store.ResourcesByIdentifier.First(u.tx, r.Identifier); err == nil && other.ID != r.ID {
			return model.Errorf(model.ECONFLICT, "resource.identifier: %q is already used by resource %s", r.Identifier, other.ID)
		}
		if r.ProviderID != "" {
			return requireExists(u.tx, store.ResourceProviders, "resource.providerId", r.ProviderID)
		}
		return nil
	},
	afterUpsert: func(u *unit, _, r *model.Resource) error {
		if err := u.syncResource(r.ID); err != nil {
			return err
		}
		u.markResource(r.ID)
		return u.markRelated(model.EntityResource, r.ID)
	},
	beforeRemove: func(u *unit, r *model.Resource) error {
		for _, v := range store.ResourceVariablesByResource.Get(u.tx, r.ID) {
			if err := store.ResourceVariables.Remove(u.tx, v.ID()); err != nil {
				return err
			}
		}
		return nil
	},
	afterRemove: func(u *unit, r *model.Resource) error { return u.syncResource(r.ID) },
}

// linkKind is one kind of system link: deployment or environment. Both kinds
// are applied by the same code.
type linkKind[L, M any] struct {
	name    string
	table   *store.Table[L]
	system  func(*L) string
	member  func(*L) string
	members *store.Table[M]
	field   string
	// sync re-pairs the linked deployment or environment.
	sync func(u *unit, id string) error
}

var (
	deploymentLinks = linkKind[model.SystemDeploymentLink, model.Deployment]{
		name: "systemDeploymentLink", table: store.SystemDeployments, members: store.Deployments, field: "deploymentId",
		system: func(l *model.SystemDeploymentLink) string { return l.SystemID },
		member: func(l *model.SystemDeploymentLink) string { return l.DeploymentID },
		sync:   (*unit).syncDeployment,
	}
	environmentLinks = linkKind[model.SystemEnvironmentLink, model.Environment]{
		name: "systemEnvironmentLink", table: store.SystemEnvironments, members: store.Environments, field: "environmentId",
		system: func(l *model.SystemEnvironmentLink) string { return l.SystemID },
		member: func(l *model.SystemEnvironmentLink) string { return l.EnvironmentID },
		sync:   (*unit).syncEnvironment,
	}
)

// handler returns the handler of the link's .linked (or .unlinked) event.
// Linking needs both ends to exist; unlinking a missing link changes nothing.
func (k linkKind[L, M]) handler(linked bool) handler {
	return func(u *unit, data json.RawMessage) error {
		l, err := decode[L](data, k.name)
		if err != nil {
			return err
		}
		if linked {
			if err := requireExists(u.tx, store.Systems, "systemId", k.system(l)); err != nil {
				return err
			}
			if err := requireExists(u.tx, k.members, k.field, k.member(l)); err != nil {
				return err
			}
		}
		return k.set(u, l, linked)
	}
}

// set adds or removes a link and re-pairs its deployment or environment.
func (k linkKind[L, M]) set(u *unit, l *L, linked bool) error {
	key := k.table.Key(l)
	has := k.table.Has(u.tx, key)
	switch {
	case linked && !has:
		if err := k.table.Upsert(u.tx, key, l); err != nil {
			return err
		}
	case !linked && has:
		if err := k.table.Remove(u.tx, key); err != nil {
			return err
		}
	default:
		return nil
	}
	return k.sync(u, k.member(l))
}
