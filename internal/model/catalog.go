package model

import "time"

// System groups deployments and environments; a deployment and an
// environment form release targets only when linked to a common system.
type System struct {
	ID          string            `json:"id"`
	WorkspaceID string            `json:"workspaceId"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// DeploymentJobAgent is one entry of a deployment's job agent list: the agent
// is used for a release whose CEL Selector holds (an empty selector holds).
type DeploymentJobAgent struct {
	Ref      string         `json:"ref"`
	Config   map[string]any `json:"config"`
	Selector string         `json:"selector"`
}

// Deployment is a service (or any deployable unit) that versions are built for.
type Deployment struct {
	ID               string               `json:"id"`
	Name             string               `json:"name"`
	Slug             string               `json:"slug"`
	Description      string               `json:"description,omitempty"`
	JobAgentID       string               `json:"jobAgentId,omitempty"`
	JobAgentConfig   map[string]any       `json:"jobAgentConfig"`
	JobAgents        []DeploymentJobAgent `json:"jobAgents,omitempty"`
	ResourceSelector *Selector            `json:"resourceSelector,omitempty"`
	Metadata         map[string]string    `json:"metadata"`
}

// Environment is a stage (dev, staging, prod) selecting the resources in it.
type Environment struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	ResourceSelector *Selector         `json:"resourceSelector,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	CreatedAt        time.Time         `json:"createdAt"`
}

// Resource is a deployment target: a cluster, a region, an account, a host.
// Identifier is unique within a workspace.
type Resource struct {
	ID          string            `json:"id"`
	WorkspaceID string            `json:"workspaceId"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Kind        string            `json:"kind"`
	Identifier  string            `json:"identifier"`
	Config      map[string]any    `json:"config"`
	Metadata    map[string]string `json:"metadata"`
	ProviderID  string            `json:"providerId,omitempty"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt,omitzero"`
	LockedAt    time.Time         `json:"lockedAt,omitzero"`
	DeletedAt   time.Time         `json:"deletedAt,omitzero"`
}

// ResourceProvider is the source that reports a set of resources (a cloud
// scanner, a Kubernetes controller).
type ResourceProvider struct {
	ID          string            `json:"id"`
	WorkspaceID string            `json:"workspaceId"`
	Name        string            `json:"name"`
	CreatedAt   time.Time         `json:"createdAt"`
	Metadata    map[string]string `json:"metadata"`
}

// SystemDeploymentLink puts a deployment into a system.
type SystemDeploymentLink struct {
	SystemID     string `json:"systemId"`
	DeploymentID string `json:"deploymentId"`
}

// SystemEnvironmentLink puts an environment into a system.
type SystemEnvironmentLink struct {
	SystemID      string `json:"systemId"`
	EnvironmentID string `json:"environmentId"`
}

// Key returns the link's identity, made of its system and deployment.
func (l *SystemDeploymentLink) Key() string { return CompositeKey(l.SystemID, l.DeploymentID) }

// Key returns the link's identity, made of its system and environment.
func (l *SystemEnvironmentLink) Key() string { return CompositeKey(l.SystemID, l.EnvironmentID) }

// ReleaseTarget is one (deployment, environment, resource) triple that a
// version can be deployed to. It is derived from selectors and links, never
// written by callers.
type ReleaseTarget struct {
	ResourceID    string `json:"resourceId"`
	EnvironmentID string `json:"environmentId"`
	DeploymentID  string `json:"deploymentId"`

	// key caches Key for targets made by NewReleaseTarget: the store asks
	// for it on every index change, and a fan-out over a million targets
	// would otherwise build a million keys each time.
	key string
}

// NewReleaseTarget returns the target of a resource in an environment for
// a deployment, with its key computed once.
func NewReleaseTarget(resourceID, environmentID, deploymentID string) *ReleaseTarget {
	return &ReleaseTarget{ResourceID: resourceID, EnvironmentID: environmentID, DeploymentID: deploymentID,
		key: CompositeKey(resourceID, environmentID, deploymentID)}
}

// Key returns the target's identity, made of its resource, environment and
// deployment (see CompositeKey).
func (t *ReleaseTarget) Key() string {
	if t.key != "" {
		return t.key
	}
	return CompositeKey(t.ResourceID, t.EnvironmentID, t.DeploymentID)
}

// WireKey returns the target's wire form, "resourceId-environmentId-deploymentId",
// as ctrlplane names targets. It is what the API shows and accepts, but
// not an identity: ids containing dashes can make two targets share one.
func (t *ReleaseTarget) WireKey() string {
	return t.ResourceID + "-" + t.EnvironmentID + "-" + t.DeploymentID
}
