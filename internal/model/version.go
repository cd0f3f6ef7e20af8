package model

import "time"

// Version statuses. Only ready versions are deployed; paused ones only where
// they are already released.
const (
	VersionUnspecified = "unspecified"
	VersionBuilding    = "building"
	VersionReady       = "ready"
	VersionFailed      = "failed"
	VersionRejected    = "rejected"
	VersionPaused      = "paused"
)

// DeploymentVersion is one build of a deployment, as produced by CI. Tag is
// unique per deployment.
type DeploymentVersion struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Tag            string            `json:"tag"`
	Config         map[string]any    `json:"config"`
	JobAgentConfig map[string]any    `json:"jobAgentConfig"`
	DeploymentID   string            `json:"deploymentId"`
	Status         string            `json:"status"`
	Message        string            `json:"message,omitempty"`
	CreatedAt      time.Time         `json:"createdAt"`
	Metadata       map[string]string `json:"metadata"`
	// CreatedBy names who created the version: the caller's name when an
	// authenticated caller did, else what the producer said.
	CreatedBy string `json:"createdBy,omitempty"`
	// Dependencies are what the version needs beside it on a resource, by
	// the id of another deployment: that deployment's current version on
	// the resource must match the dependency's versionSelector before this
	// version may deploy there.
	Dependencies map[string]VersionDependency `json:"dependencies,omitempty"`
}

// VersionDependency is one dependency of a version on another deployment.
type VersionDependency struct {
	// VersionSelector is CEL over `version` (the other deployment's
	// current version on the resource) and `deployment` (that deployment).
	VersionSelector string `json:"versionSelector"`
}

// DeploymentVariable is a key a deployment declares, with an optional
// default value.
type DeploymentVariable struct {
	ID           string        `json:"id"`
	Key          string        `json:"key"`
	DeploymentID string        `json:"deploymentId"`
	Description  string        `json:"description,omitempty"`
	DefaultValue *LiteralValue `json:"defaultValue,omitempty"`
}

// DeploymentVariableValue is a candidate value for a deployment variable,
// applying to the resources its selector matches, by priority.
type DeploymentVariableValue struct {
	ID                   string    `json:"id"`
	DeploymentVariableID string    `json:"deploymentVariableId"`
	Priority             int64     `json:"priority"`
	ResourceSelector     *Selector `json:"resourceSelector,omitempty"`
	Value                Value     `json:"value"`
}

// ResourceVariable sets a variable for one resource; it wins over every
// deployment variable value. Its identity is "resourceId-key".
type ResourceVariable struct {
	ResourceID string `json:"resourceId"`
	Key        string `json:"key"`
	Value      Value  `json:"value"`
}

// ID returns the variable's identity, made of its resource and key.
func (v *ResourceVariable) ID() string { return CompositeKey(v.ResourceID, v.Key) }
