package selector

import (
	"encoding/json"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// The functions below give CEL an entity as a map of its JSON fields, with
// exactly the fields shapes.go declares for its kind: a declared field is
// always present, holding a value of its declared type ("" for an unset
// string or timestamp, an empty map for an unset map), so that a selector
// that type-checks never meets a missing field at run time.
//
// They are written out rather than going through encoding/json because
// target maintenance builds them for every resource and, per resource, for
// every environment and deployment, so each allocation counts: the maps
// share config and metadata with the entity (metadata stays the entity's
// map[string]string, which CEL reads as it is) and an unset map is one
// shared empty map. Neither the caller nor CEL may change them.

// ResourceVars returns the CEL map of a resource.
func ResourceVars(r *model.Resource) map[string]any {
	return map[string]any{
		"id": r.ID, "workspaceId": r.WorkspaceID, "name": r.Name, "version": r.Version, "kind": r.Kind,
		"identifier": r.Identifier, "providerId": r.ProviderID,
		"config": anyMap(r.Config), "metadata": stringMap(r.Metadata),
		"createdAt": timeString(r.CreatedAt), "updatedAt": timeString(r.UpdatedAt),
		"lockedAt": timeString(r.LockedAt), "deletedAt": timeString(r.DeletedAt),
	}
}

// DeploymentVars returns the CEL map of a deployment.
func DeploymentVars(d *model.Deployment) map[string]any {
	agents := make([]any, len(d.JobAgents))
	for i, a := range d.JobAgents {
		agents[i] = map[string]any{"ref": a.Ref, "selector": a.Selector, "config": anyMap(a.Config)}
	}
	return map[string]any{
		"id": d.ID, "name": d.Name, "slug": d.Slug, "description": d.Description, "jobAgentId": d.JobAgentID,
		"jobAgentConfig": anyMap(d.JobAgentConfig), "jobAgents": agents,
		"resourceSelector": selectorMap(d.ResourceSelector), "metadata": stringMap(d.Metadata),
	}
}

// EnvironmentVars returns the CEL map of an environment.
func EnvironmentVars(e *model.Environment) map[string]any {
	return map[string]any{
		"id": e.ID, "name": e.Name, "description": e.Description, "createdAt": timeString(e.CreatedAt),
		"resourceSelector": selectorMap(e.ResourceSelector), "metadata": stringMap(e.Metadata),
	}
}

// VersionVars returns the CEL map of a deployment version.
func VersionVars(v *model.DeploymentVersion) map[string]any {
	if v == nil {
		// A release without its version (a partial record) still has the
		// shape CEL was type-checked against.
		v = &model.DeploymentVersion{}
	}
	return map[string]any{
		"id": v.ID, "name": v.Name, "tag": v.Tag, "deploymentId": v.DeploymentID, "status": v.Status,
		"message": v.Message, "createdAt": timeString(v.CreatedAt), "createdBy": v.CreatedBy,
		"config": anyMap(v.Config), "jobAgentConfig": anyMap(v.JobAgentConfig), "metadata": stringMap(v.Metadata),
		"dependencies": dependenciesMap(v.Dependencies),
	}
}

// dependenciesMap is a version's dependencies as their wire form reads:
// {deploymentId: {"versionSelector": text}}.
func dependenciesMap(deps map[string]model.VersionDependency) map[string]any {
	if len(deps) == 0 {
		return noValues
	}
	out := make(map[string]any, len(deps))
	for id, d := range deps {
		out[id] = map[string]any{"versionSelector": d.VersionSelector}
	}
	return out
}

// ReleaseVars returns the CEL map of a release. Variable values are given
// as CEL reads JSON: integral numbers as int, others as double.
func ReleaseVars(rel *model.Release) map[string]any {
	vars := make(map[string]any, len(rel.Variables))
	for k, v := range rel.Variables {
		vars[k] = jsonValue(v.V)
	}
	encrypted := make([]any, len(rel.EncryptedVariables))
	for i, k := range rel.EncryptedVariables {
		encrypted[i] = k
	}
	t := rel.ReleaseTarget
	return map[string]any{
		"id": rel.ID, "createdAt": timeString(rel.CreatedAt), "version": VersionVars(rel.Version),
		"variables": vars, "encryptedVariables": encrypted,
		"releaseTarget": map[string]any{
			"resourceId": t.ResourceID, "environmentId": t.EnvironmentID, "deploymentId": t.DeploymentID},
	}
}

// JobVars returns the CEL map of a job. Its dispatch context goes through
// JSON, being a deep tree of entities; no hot path selects jobs.
func JobVars(j *model.Job) map[string]any {
	dispatch := noValues
	if j.DispatchContext != nil {
		if m, err := ToMap(j.DispatchContext); err == nil {
			dispatch = m
		}
	}
	return map[string]any{
		"id": j.ID, "releaseId": j.ReleaseID, "workflowJobId": j.WorkflowJobID, "jobAgentId": j.JobAgentID,
		"externalId": j.ExternalID, "status": j.Status, "message": j.Message, "traceToken": j.TraceToken,
		"createdAt": timeString(j.CreatedAt), "updatedAt": timeString(j.UpdatedAt),
		"startedAt": timeString(j.StartedAt), "completedAt": timeString(j.CompletedAt),
		"jobAgentConfig": anyMap(j.JobAgentConfig), "metadata": stringMap(j.Metadata),
		"dispatchContext": dispatch,
	}
}

// Shared empty maps for unset fields; read-only like every map here.
var (
	noStrings = map[string]string{}
	noValues  = map[string]any{}
)

func stringMap(m map[string]string) map[string]string {
	if m == nil {
		return noStrings
	}
	return m
}

func anyMap(m map[string]any) map[string]any {
	if m == nil {
		return noValues
	}
	return m
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// selectorMap is a selector as its wire form reads: {"cel": text} or
// {"json": tree}; an absent selector is an empty map.
func selectorMap(s *model.Selector) map[string]any {
	switch {
	case s == nil:
		return noValues
	case s.CEL != nil:
		return map[string]any{"cel": *s.CEL}
	default:
		return map[string]any{"json": anyMap(s.JSON)}
	}
}

// jsonValue converts json.Number, which a value decoded with UseNumber
// holds, to int64 or float64, copying containers rather than changing the
// stored value in place.
func jsonValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}
