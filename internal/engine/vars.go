package engine

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// The functions below give selectors an entity as a map of its JSON fields.
// They are written out rather than going through encoding/json because target
// maintenance evaluates selectors against every resource, and a JSON round
// trip per resource would dominate that cost.

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func anyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func timeString(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func resourceVars(r *model.Resource) map[string]any {
	m := map[string]any{
		"id": r.ID, "workspaceId": r.WorkspaceID, "name": r.Name, "version": r.Version, "kind": r.Kind,
		"identifier": r.Identifier, "config": anyMap(r.Config), "metadata": stringMap(r.Metadata),
		"providerId": r.ProviderID, "createdAt": timeString(r.CreatedAt),
	}
	if !r.UpdatedAt.IsZero() {
		m["updatedAt"] = timeString(r.UpdatedAt)
	}
	return m
}

func environmentVars(e *model.Environment) map[string]any {
	return map[string]any{
		"id": e.ID, "name": e.Name, "description": e.Description, "metadata": stringMap(e.Metadata),
		"createdAt": timeString(e.CreatedAt),
	}
}

func deploymentVars(d *model.Deployment) map[string]any {
	return map[string]any{
		"id": d.ID, "name": d.Name, "slug": d.Slug, "description": d.Description, "jobAgentId": d.JobAgentID,
		"jobAgentConfig": anyMap(d.JobAgentConfig), "metadata": stringMap(d.Metadata),
	}
}

func versionVars(v *model.DeploymentVersion) map[string]any {
	return map[string]any{
		"id": v.ID, "name": v.Name, "tag": v.Tag, "deploymentId": v.DeploymentID, "status": v.Status,
		"message": v.Message, "config": anyMap(v.Config), "jobAgentConfig": anyMap(v.JobAgentConfig),
		"metadata": stringMap(v.Metadata), "createdAt": timeString(v.CreatedAt),
	}
}
