package client

import (
	"encoding/json"
	"time"
)

// The types below are the parts of the API's read views that the CLI looks
// at. Fields the server sends beyond these are ignored, so a newer server
// keeps working with an older CLI.

// Workspace is one workspace the server holds.
type Workspace struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
}

// System groups deployments and environments.
type System struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

// Environment is a stage selecting its resources.
type Environment struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	ResourceSelector json.RawMessage   `json:"resourceSelector"`
	Metadata         map[string]string `json:"metadata"`
	CreatedAt        time.Time         `json:"createdAt"`
}

// DeploymentJobAgent is one entry of a deployment's agent list.
type DeploymentJobAgent struct {
	Ref      string `json:"ref"`
	Selector string `json:"selector"`
}

// Deployment is a deployable unit.
type Deployment struct {
	ID               string               `json:"id"`
	Name             string               `json:"name"`
	Slug             string               `json:"slug"`
	Description      string               `json:"description"`
	JobAgentID       string               `json:"jobAgentId"`
	JobAgents        []DeploymentJobAgent `json:"jobAgents"`
	ResourceSelector json.RawMessage      `json:"resourceSelector"`
	Metadata         map[string]string    `json:"metadata"`
}

// Resource is a deployment target (a cluster, a host, an account).
type Resource struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Identifier string            `json:"identifier"`
	Kind       string            `json:"kind"`
	Version    string            `json:"version"`
	ProviderID string            `json:"providerId"`
	Metadata   map[string]string `json:"metadata"`
	CreatedAt  time.Time         `json:"createdAt"`
}

// ResourceProvider reports a set of resources.
type ResourceProvider struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata"`
}

// JobAgent runs jobs.
type JobAgent struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Metadata map[string]string `json:"metadata"`
}

// Version is a deployment version (a build).
type Version struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Tag          string            `json:"tag"`
	DeploymentID string            `json:"deploymentId"`
	Status       string            `json:"status"`
	Message      string            `json:"message"`
	CreatedAt    time.Time         `json:"createdAt"`
	Metadata     map[string]string `json:"metadata"`
}

// DeploymentVariable is a key a deployment declares.
type DeploymentVariable struct {
	ID           string          `json:"id"`
	Key          string          `json:"key"`
	DeploymentID string          `json:"deploymentId"`
	Description  string          `json:"description"`
	DefaultValue json.RawMessage `json:"defaultValue"`
}

// DeploymentVariableValue is one candidate value of a deployment variable.
type DeploymentVariableValue struct {
	ID                   string          `json:"id"`
	DeploymentVariableID string          `json:"deploymentVariableId"`
	Priority             int64           `json:"priority"`
	ResourceSelector     json.RawMessage `json:"resourceSelector"`
	Value                json.RawMessage `json:"value"`
}

// ResourceVariable is a variable set on one resource.
type ResourceVariable struct {
	ResourceID string          `json:"resourceId"`
	Key        string          `json:"key"`
	Value      json.RawMessage `json:"value"`
}

// Policy gates versions for the targets its selector matches.
type Policy struct {
	ID       string                       `json:"id"`
	Name     string                       `json:"name"`
	Enabled  bool                         `json:"enabled"`
	Priority int                          `json:"priority"`
	Selector string                       `json:"selector"`
	Rules    []map[string]json.RawMessage `json:"rules"`
	Metadata map[string]string            `json:"metadata"`
}

// PolicySkip lifts one rule for one version.
type PolicySkip struct {
	ID            string    `json:"id"`
	VersionID     string    `json:"versionId"`
	EnvironmentID string    `json:"environmentId"`
	ResourceID    string    `json:"resourceId"`
	RuleID        string    `json:"ruleId"`
	Reason        string    `json:"reason"`
	ExpiresAt     time.Time `json:"expiresAt"`
}

// ApprovalRecord is one user's approval (or rejection) of a version for an
// environment.
type ApprovalRecord struct {
	UserID        string    `json:"userId"`
	VersionID     string    `json:"versionId"`
	EnvironmentID string    `json:"environmentId"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason"`
	CreatedAt     time.Time `json:"createdAt"`
}

// RelationshipRule relates entities to each other.
type RelationshipRule struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Reference string            `json:"reference"`
	FromType  string            `json:"fromType"`
	ToType    string            `json:"toType"`
	Metadata  map[string]string `json:"metadata"`
}

// Workflow is a set of jobs run on demand.
type Workflow struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Jobs []struct {
		Name string `json:"name"`
		Ref  string `json:"ref"`
	} `json:"jobs"`
}

// TargetRef names a release target by its three ids.
type TargetRef struct {
	ResourceID    string `json:"resourceId"`
	EnvironmentID string `json:"environmentId"`
	DeploymentID  string `json:"deploymentId"`
}

// Release is a version with its variables for one target.
type Release struct {
	ID            string    `json:"id"`
	Version       Version   `json:"version"`
	ReleaseTarget TargetRef `json:"releaseTarget"`
	CreatedAt     time.Time `json:"createdAt"`
}

// Dispatch is how handing a job to its agent went.
type Dispatch struct {
	Attempts      int        `json:"attempts"`
	LastAttemptAt *time.Time `json:"lastAttemptAt"`
	DispatchedAt  *time.Time `json:"dispatchedAt"`
	LastError     string     `json:"lastError"`
}

// Job is one run of a release on one agent.
type Job struct {
	ID          string    `json:"id"`
	ReleaseID   string    `json:"releaseId"`
	JobAgentID  string    `json:"jobAgentId"`
	ExternalID  string    `json:"externalId"`
	Status      string    `json:"status"`
	Message     string    `json:"message"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	StartedAt   time.Time `json:"startedAt"`
	CompletedAt time.Time `json:"completedAt"`
	Release     *Release  `json:"release"`
	Dispatch    *Dispatch `json:"dispatch"`
}

// ReleaseTarget is a (resource, environment, deployment) with what the
// engine decided for it.
type ReleaseTarget struct {
	// Key is the target's key in the API's paths.
	Key string `json:"key"`
	TargetRef
	DesiredRelease *Release `json:"desiredRelease"`
	CurrentRelease *Release `json:"currentRelease"`
	LatestJob      *Job     `json:"latestJob"`
	// Reason says why the target gets no new job, when the engine decided
	// so.
	Reason             string     `json:"reason"`
	NextEvaluationTime *time.Time `json:"nextEvaluationTime"`
}

// RuleResult is one rule's verdict on one version.
type RuleResult struct {
	RuleID             string         `json:"ruleId"`
	Kind               string         `json:"kind"`
	Allowed            bool           `json:"allowed"`
	ActionRequired     bool           `json:"actionRequired"`
	ActionType         string         `json:"actionType"`
	Message            string         `json:"message"`
	Details            map[string]any `json:"details"`
	SatisfiedAt        *time.Time     `json:"satisfiedAt"`
	NextEvaluationTime *time.Time     `json:"nextEvaluationTime"`
}

// PolicyEvaluation is one policy's rules' verdicts on one version.
type PolicyEvaluation struct {
	Policy struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"policy"`
	RuleResults    []RuleResult `json:"ruleResults"`
	SkippedRuleIDs []string     `json:"skippedRuleIds"`
}

// Evaluation is how a target's policies judge one version now.
type Evaluation struct {
	ReleaseTarget      TargetRef          `json:"releaseTarget"`
	Version            Version            `json:"version"`
	Allowed            bool               `json:"allowed"`
	Message            string             `json:"message"`
	Checks             []RuleResult       `json:"checks"`
	Policies           []PolicyEvaluation `json:"policies"`
	NextEvaluationTime *time.Time         `json:"nextEvaluationTime"`
	// Frozen says what freezes hold the target's jobs, when any do.
	Frozen string `json:"frozen"`
}
