package model

import (
	"encoding/json"
	"time"
)

// Job statuses. Pending, in-progress and action-required jobs are
// "processing"; the rest are terminal.
const (
	JobPending             = "pending"
	JobInProgress          = "inProgress"
	JobActionRequired      = "actionRequired"
	JobSuccessful          = "successful"
	JobFailure             = "failure"
	JobCancelled           = "cancelled"
	JobSkipped             = "skipped"
	JobInvalidJobAgent     = "invalidJobAgent"
	JobInvalidIntegration  = "invalidIntegration"
	JobExternalRunNotFound = "externalRunNotFound"
)

// JobStatuses lists every valid job status.
var JobStatuses = []string{
	JobPending, JobInProgress, JobActionRequired, JobSuccessful, JobFailure, JobCancelled,
	JobSkipped, JobInvalidJobAgent, JobInvalidIntegration, JobExternalRunNotFound,
}

// IsProcessingJobStatus reports whether a job in status s is still under way.
func IsProcessingJobStatus(s string) bool {
	return s == JobPending || s == JobInProgress || s == JobActionRequired
}

// JobAgent is something that runs jobs: a CI system, Argo CD, a webhook, or a
// pull-based runner (type "custom").
type JobAgent struct {
	ID          string            `json:"id"`
	WorkspaceID string            `json:"workspaceId"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Config      map[string]any    `json:"config"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// Release is a version with its resolved variables for one target. Its id is
// derived from its content, so the same content always has the same id.
type Release struct {
	ID                 string                  `json:"id"`
	Version            *DeploymentVersion      `json:"version"`
	Variables          map[string]LiteralValue `json:"variables"`
	EncryptedVariables []string                `json:"encryptedVariables"`
	ReleaseTarget      ReleaseTarget           `json:"releaseTarget"`
	CreatedAt          time.Time               `json:"createdAt"`
}

// DispatchContext is everything an agent needs to run a job, fixed when the
// job is created.
type DispatchContext struct {
	JobAgent       JobAgent                `json:"jobAgent"`
	JobAgentConfig map[string]any          `json:"jobAgentConfig"`
	Release        *Release                `json:"release,omitempty"`
	Deployment     *Deployment             `json:"deployment,omitempty"`
	Environment    *Environment            `json:"environment,omitempty"`
	Resource       *Resource               `json:"resource,omitempty"`
	Version        *DeploymentVersion      `json:"version,omitempty"`
	Variables      map[string]LiteralValue `json:"variables,omitempty"`
	Workflow       *Workflow               `json:"workflow,omitempty"`
	WorkflowJob    *WorkflowJob            `json:"workflowJob,omitempty"`
	WorkflowRun    *WorkflowRun            `json:"workflowRun,omitempty"`

	// Snapshots names the stored snapshots of Deployment, Environment and
	// Resource, which the job's row refers to instead of holding copies
	// (see EntitySnapshot). It is the engine's bookkeeping, never shown;
	// nil for a job stored with its copies.
	Snapshots *SnapshotRefs `json:"-"`
}

// SnapshotRefs are the ids of the entity snapshots a dispatch context
// holds ("" for an entity it does not have).
type SnapshotRefs struct {
	Deployment  string `json:"deployment,omitempty"`
	Environment string `json:"environment,omitempty"`
	Resource    string `json:"resource,omitempty"`
}

// EntitySnapshot is an entity as it was when a job was made, stored once
// for every job that saw it so: its id is a hash of its kind and content.
// A fan-out's jobs share a handful of deployments and environments and one
// snapshot per resource, where each job's row would otherwise repeat them.
type EntitySnapshot struct {
	ID   string          `json:"id"`
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
	// Value is Data decoded (a *Deployment, *Environment or *Resource),
	// once, for the jobs that refer to it; never stored.
	Value any `json:"-"`
}

// Job is one run of a release (or a workflow job) on one agent.
type Job struct {
	ID              string            `json:"id"`
	ReleaseID       string            `json:"releaseId"`
	WorkflowJobID   string            `json:"workflowJobId"`
	JobAgentID      string            `json:"jobAgentId"`
	JobAgentConfig  map[string]any    `json:"jobAgentConfig"`
	ExternalID      string            `json:"externalId,omitempty"`
	Status          string            `json:"status"`
	Message         string            `json:"message,omitempty"`
	TraceToken      string            `json:"traceToken,omitempty"`
	Metadata        map[string]string `json:"metadata"`
	DispatchContext *DispatchContext  `json:"dispatchContext,omitempty"`
	// Dispatch is how handing the job to its agent is going; nil until
	// the first attempt (or claim).
	Dispatch    *JobDispatch `json:"dispatch,omitempty"`
	CreatedAt   time.Time    `json:"createdAt"`
	UpdatedAt   time.Time    `json:"updatedAt"`
	StartedAt   time.Time    `json:"startedAt,omitzero"`
	CompletedAt time.Time    `json:"completedAt,omitzero"`
}

// JobDispatch is the state of handing a job to its agent: the jobs table is
// the outbox, and this is its bookkeeping, stored with the job and changed
// through the engine like everything else, so dispatch resumes after a
// restart.
type JobDispatch struct {
	// Attempts counts the attempts to hand the job over (a claim is one).
	Attempts int `json:"attempts"`
	// LastAttemptAt is when the latest attempt was made.
	LastAttemptAt time.Time `json:"lastAttemptAt,omitzero"`
	// DispatchedAt is when the agent took the job; zero until it did.
	DispatchedAt time.Time `json:"dispatchedAt,omitzero"`
	// LastError is what the latest failed attempt (or follow) answered.
	LastError string `json:"lastError,omitempty"`
	// NextAttemptAt is when a failed attempt is retried.
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	// LeaseExpiresAt is when a pull runner's claim runs out unless it
	// sends a heartbeat.
	LeaseExpiresAt time.Time `json:"leaseExpiresAt,omitzero"`
}
