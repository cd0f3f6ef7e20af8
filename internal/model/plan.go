package model

import "time"

// Statuses of a deployment plan's result for one agent of one target.
const (
	// PlanComputed: the result says what the job would change.
	PlanComputed = "computed"
	// PlanErrored: what the job would be could not be worked out (a
	// template that does not render, a missing agent); Message says why.
	PlanErrored = "errored"
	// PlanUnsupported: the agent type cannot say what would change in its
	// system; the rendered config is shown all the same.
	PlanUnsupported = "unsupported"
)

// Statuses of a deployment plan as a whole.
const (
	PlanCompleted = "completed"
	PlanFailed    = "failed"
)

// DeploymentPlan is a dry run: what a version of a deployment, not
// created, would make on each of the deployment's release targets. Only
// the plan itself is stored; nothing else in the workspace changes.
type DeploymentPlan struct {
	ID           string            `json:"id"`
	WorkspaceID  string            `json:"workspaceId"`
	DeploymentID string            `json:"deploymentId"`
	Status       string            `json:"status"`
	Version      PlannedVersion    `json:"version"`
	Metadata     map[string]string `json:"metadata"`
	Summary      PlanSummary       `json:"summary"`
	Targets      []PlanTarget      `json:"targets"`
	CreatedAt    time.Time         `json:"createdAt"`
	CompletedAt  time.Time         `json:"completedAt"`
	ExpiresAt    time.Time         `json:"expiresAt"`
}

// PlannedVersion is the version a plan is made for, as the request gave it.
type PlannedVersion struct {
	Tag            string            `json:"tag"`
	Name           string            `json:"name,omitempty"`
	Config         map[string]any    `json:"config"`
	JobAgentConfig map[string]any    `json:"jobAgentConfig"`
	Metadata       map[string]string `json:"metadata"`
}

// PlanSummary counts a plan's targets: all of them, those with a change,
// those without, and those with an errored or unsupported result.
type PlanSummary struct {
	Total       int `json:"total"`
	Changed     int `json:"changed"`
	Unchanged   int `json:"unchanged"`
	Errored     int `json:"errored"`
	Unsupported int `json:"unsupported"`
}

// PlanTarget is what a plan found for one release target: the release the
// version would make there (its variables, sensitive ones as their hash),
// the target's current release, and one result per agent its job would go
// to.
type PlanTarget struct {
	Key             string       `json:"key"`
	ResourceID      string       `json:"resourceId"`
	ResourceName    string       `json:"resourceName"`
	EnvironmentID   string       `json:"environmentId"`
	EnvironmentName string       `json:"environmentName"`
	DeploymentID    string       `json:"deploymentId"`
	HasChanges      bool         `json:"hasChanges"`
	Release         *Release     `json:"release,omitempty"`
	CurrentRelease  *Release     `json:"currentRelease,omitempty"`
	Results         []PlanResult `json:"results"`
	Message         string       `json:"message,omitempty"`
}

// PlanResult compares, for one agent, what its job would be given
// (Proposed) with what the job that deployed the current release was
// given (Current), as text, with their line diff.
type PlanResult struct {
	JobAgentID   string `json:"jobAgentId,omitempty"`
	JobAgentName string `json:"jobAgentName,omitempty"`
	JobAgentType string `json:"jobAgentType,omitempty"`
	Status       string `json:"status"`
	HasChanges   bool   `json:"hasChanges"`
	// ContentHash is the SHA-256 (hex) of Proposed.
	ContentHash string `json:"contentHash"`
	Current     string `json:"current"`
	Proposed    string `json:"proposed"`
	Diff        string `json:"diff"`
	Message     string `json:"message,omitempty"`
}
