package engine

import (
	"encoding/json"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// handler applies one event's payload inside the event's unit of work.
type handler func(u *unit, data json.RawMessage) error

// entityKind describes how events of one entity kind are applied. Every kind
// goes through the same generic create/update/delete path; the hooks carry
// what is particular to a kind.
type entityKind[T any] struct {
	// name is the event prefix ("resource" for resource.created).
	name  string
	table *store.Table[T]
	// check validates references and selectors before the write.
	check func(u *unit, v *T) error
	// afterUpsert runs after the entity was written (old is nil on create).
	afterUpsert func(u *unit, old, v *T) error
	// beforeRemove runs before the entity is removed, to cascade.
	beforeRemove func(u *unit, old *T) error
	// afterRemove runs after the entity was removed.
	afterRemove func(u *unit, old *T) error
}

func (k entityKind[T]) register(m map[string]handler) {
	m[k.name+".created"] = k.upsert
	m[k.name+".updated"] = k.upsert
	m[k.name+".deleted"] = k.remove
}

func (k entityKind[T]) upsert(u *unit, data json.RawMessage) error {
	v, err := decodeKey[T](data, k.name)
	if err != nil {
		return err
	}
	return k.put(u, v)
}

// put checks, validates and writes one entity, then runs its kind's
// follow-up (target maintenance, marking targets).
func (k entityKind[T]) put(u *unit, v *T) error {
	// check fills defaults (a version's status, a creation time) before the
	// entity is validated as a whole.
	if k.check != nil {
		if err := k.check(u, v); err != nil {
			return err
		}
	}
	if val, ok := any(v).(model.Validator); ok {
		if err := val.Validate(); err != nil {
			return err
		}
	}
	id := k.table.Key(v)
	old, err := k.table.Get(u.tx, id)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return err
	}
	if err := k.table.Upsert(u.tx, id, v); err != nil {
		return err
	}
	if k.afterUpsert != nil {
		return k.afterUpsert(u, old, v)
	}
	return nil
}

// remove deletes the entity the payload names. Deleting an entity that does
// not exist is acknowledged and changes nothing, so a redelivered delete is
// harmless.
func (k entityKind[T]) remove(u *unit, data json.RawMessage) error {
	v, err := decodeKey[T](data, k.name)
	if err != nil {
		return err
	}
	old, err := k.table.Get(u.tx, k.table.Key(v))
	if errors.Is(err, model.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return k.delete(u, old)
}

// delete removes a stored entity with its kind's cascade and follow-up.
func (k entityKind[T]) delete(u *unit, old *T) error {
	id := k.table.Key(old)
	if k.beforeRemove != nil {
		if err := k.beforeRemove(u, old); err != nil {
			return err
		}
	}
	if err := k.table.Remove(u.tx, id); err != nil {
		return err
	}
	if k.afterRemove != nil {
		return k.afterRemove(u, old)
	}
	return nil
}

// handlers is the dispatch table from event type to handler.
var handlers = buildHandlers()

func buildHandlers() map[string]handler {
	m := map[string]handler{}
	systemKind.register(m)
	environmentKind.register(m)
	deploymentKind.register(m)
	resourceKind.register(m)
	providerKind.register(m)
	jobAgentKind.register(m)
	versionKind.register(m)
	deploymentVariableKind.register(m)
	variableValueKind.register(m)
	resourceVariableKind.register(m)
	policyKind.register(m)
	policySkipKind.register(m)
	approvalKind.register(m)
	relationshipRuleKind.register(m)
	workflowKind.register(m)
	freezeKind.register(m)
	variableSetKind.register(m)
	m["system-deployment.linked"] = deploymentLinks.handler(true)
	m["system-deployment.unlinked"] = deploymentLinks.handler(false)
	m["system-environment.linked"] = environmentLinks.handler(true)
	m["system-environment.unlinked"] = environmentLinks.handler(false)
	m["resource-variables.bulk-updated"] = bulkUpdateResourceVariables
	m["resource-provider.set-resources"] = setProviderResources
	m["workflow-run.created"] = createWorkflowRun
	m["job.updated"] = updateJob
	m["release-target.deploy"] = deployReleaseTarget
	m["workspace.tick"] = tick
	m["workspace.deleted"] = deleteWorkspace
	return m
}

// EventTypes returns every event type the engine accepts.
func EventTypes() []string {
	out := make([]string, 0, len(handlers))
	for t := range handlers {
		out = append(out, t)
	}
	return out
}

// requireExists returns an EINVALID error naming field when the referenced
// entity does not exist.
func requireExists[T any](r store.Reader, table *store.Table[T], field, id string) error {
	if id == "" {
		return model.Invalid(field, "is required")
	}
	if !table.Has(r, id) {
		return model.Invalid(field, "%s %q does not exist", table.Kind, id)
	}
	return nil
}
