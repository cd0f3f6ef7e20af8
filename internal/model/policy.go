package model

import (
	"encoding/json"
	"fmt"
	"time"
)

// Policy gates versions for the release targets its CEL Selector matches.
// All rules of all enabled matching policies must pass.
type Policy struct {
	ID          string            `json:"id"`
	WorkspaceID string            `json:"workspaceId"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	CreatedAt   time.Time         `json:"createdAt"`
	Enabled     bool              `json:"enabled"`
	Priority    int               `json:"priority"`
	Selector    CELText           `json:"selector"`
	Rules       []PolicyRule      `json:"rules"`
	Metadata    map[string]string `json:"metadata"`
}

// CELText is a CEL expression held as its text. On the wire it is either
// the bare string or {"cel": "..."}, the selector form; ctrlplane sends
// both for a policy's selector. It is always written back as the bare
// string.
type CELText string

// UnmarshalJSON accepts "expr" and {"cel": "expr"}, and rejects anything
// else (a JSON selector, an unknown key) so that a typo never silently
// becomes "match nothing".
func (c *CELText) UnmarshalJSON(b []byte) error {
	var text string
	if err := json.Unmarshal(b, &text); err == nil {
		*c = CELText(text)
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("selector must be a CEL string or {\"cel\": \"...\"}")
	}
	raw, ok := obj["cel"]
	if !ok || len(obj) != 1 {
		return fmt.Errorf("selector must be a CEL string or {\"cel\": \"...\"}, with no other key")
	}
	if err := json.Unmarshal(raw, &text); err != nil {
		return fmt.Errorf("selector \"cel\" must be a string")
	}
	*c = CELText(text)
	return nil
}

// PolicyRule holds exactly one rule kind.
type PolicyRule struct {
	ID                     string                      `json:"id"`
	PolicyID               string                      `json:"policyId"`
	CreatedAt              time.Time                   `json:"createdAt"`
	AnyApproval            *AnyApprovalRule            `json:"anyApproval,omitempty"`
	EnvironmentProgression *EnvironmentProgressionRule `json:"environmentProgression,omitempty"`
	GradualRollout         *GradualRolloutRule         `json:"gradualRollout,omitempty"`
	DeploymentWindow       *DeploymentWindowRule       `json:"deploymentWindow,omitempty"`
	VersionCooldown        *VersionCooldownRule        `json:"versionCooldown,omitempty"`
	VersionSelector        *VersionSelectorRule        `json:"versionSelector,omitempty"`
	DeploymentDependency   *DeploymentDependencyRule   `json:"deploymentDependency,omitempty"`
	Retry                  *RetryRule                  `json:"retry,omitempty"`
	Rollback               *RollbackRule               `json:"rollback,omitempty"`
	Verification           *VerificationRule           `json:"verification,omitempty"`
	Supersede              *SupersedeRule              `json:"supersede,omitempty"`
}

// AnyApprovalRule requires MinApprovals approvals per version and
// environment, and as many from each of FromGroups as each names; a
// rejection of the version in the environment blocks it.
type AnyApprovalRule struct {
	MinApprovals int `json:"minApprovals"`
	// FromGroups asks for approvals from members of named groups, as the
	// approvers' tokens say (see UserApprovalRecord.Groups).
	FromGroups []GroupApproval `json:"fromGroups,omitempty"`
	// ForbidSelfApproval does not count an approval by the version's
	// creator (DeploymentVersion.CreatedBy).
	ForbidSelfApproval bool `json:"forbidSelfApproval,omitempty"`
}

// GroupApproval asks for MinApprovals approvals (1 when unset) from the
// members of Group.
type GroupApproval struct {
	Group        string `json:"group"`
	MinApprovals int    `json:"minApprovals,omitempty"`
}

// Need returns how many approvals the group asks for: at least one.
func (g GroupApproval) Need() int { return max(g.MinApprovals, 1) }

// EnvironmentProgressionRule requires a version to have succeeded in
// dependency environments first.
type EnvironmentProgressionRule struct {
	DependsOnEnvironmentSelector *Selector `json:"dependsOnEnvironmentSelector"`
	MinimumSuccessPercentage     float64   `json:"minimumSuccessPercentage,omitempty"`
	SuccessStatuses              []string  `json:"successStatuses,omitempty"`
	MinimumSoakTimeMinutes       int       `json:"minimumSockTimeMinutes,omitempty"`
	MaximumAgeHours              int       `json:"maximumAgeHours,omitempty"`
	// RequireVerificationPassed counts only jobs whose verifications ran
	// and all passed, toward the success percentage and the soak.
	RequireVerificationPassed bool `json:"requireVerificationPassed,omitempty"`

	// soakField is the spelling of the soak field the rule was sent with,
	// so that an error names the field the caller wrote.
	soakField string
}

// UnmarshalJSON accepts both spellings of the soak field,
// minimumSockTimeMinutes (the wire name) and minimumSoakTimeMinutes.
func (r *EnvironmentProgressionRule) UnmarshalJSON(b []byte) error {
	type plain EnvironmentProgressionRule
	var aux struct {
		plain
		Soak *int `json:"minimumSoakTimeMinutes"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*r = EnvironmentProgressionRule(aux.plain)
	if aux.Soak != nil && r.MinimumSoakTimeMinutes == 0 {
		r.MinimumSoakTimeMinutes = *aux.Soak
		r.soakField = "minimumSoakTimeMinutes"
	}
	return nil
}

// GradualRolloutRule spaces out a version's deployments over the targets of
// one deployment and environment.
type GradualRolloutRule struct {
	RolloutType       string `json:"rolloutType"`
	TimeScaleInterval int    `json:"timeScaleInterval"`
}

// DeploymentWindowRule allows (or denies) deployments inside recurring windows.
type DeploymentWindowRule struct {
	RRule           string `json:"rrule"`
	DurationMinutes int    `json:"durationMinutes"`
	Timezone        string `json:"timezone,omitempty"`
	AllowWindow     *bool  `json:"allowWindow,omitempty"`
}

// VersionCooldownRule batches frequent versions: a new version waits until
// IntervalSeconds after the deployed one was created.
type VersionCooldownRule struct {
	IntervalSeconds int `json:"intervalSeconds"`
}

// VersionSelectorRule only lets versions the selector matches through.
type VersionSelectorRule struct {
	Description string    `json:"description,omitempty"`
	Selector    *Selector `json:"selector"`
}

// DeploymentDependencyRule requires other deployments (matched by CEL) to
// have succeeded on the same resource first.
type DeploymentDependencyRule struct {
	DependsOn string `json:"dependsOn"`
}

// RetryRule allows a release more than one job when earlier ones failed.
type RetryRule struct {
	MaxRetries        int      `json:"maxRetries"`
	RetryOnStatuses   []string `json:"retryOnStatuses,omitempty"`
	BackoffSeconds    *int     `json:"backoffSeconds,omitempty"`
	BackoffStrategy   string   `json:"backoffStrategy,omitempty"`
	MaxBackoffSeconds *int     `json:"maxBackoffSeconds,omitempty"`
}

// RollbackRule redeploys the current release when a job fails.
type RollbackRule struct {
	OnJobStatuses         []string `json:"onJobStatuses,omitempty"`
	OnVerificationFailure bool     `json:"onVerificationFailure,omitempty"`
}

// SupersedeRule lets a newer desired version cancel the pending jobs of
// older versions on a target that no agent has taken yet, instead of
// waiting behind them. Jobs an agent has (dispatched, claimed, in
// progress) are never touched.
type SupersedeRule struct{}

// VerificationRule measures metrics after a job to decide whether it worked.
type VerificationRule struct {
	Metrics   []VerificationMetric `json:"metrics"`
	TriggerOn string               `json:"triggerOn,omitempty"`
}

// VerificationMetric is one measured metric of a verification.
type VerificationMetric struct {
	Name             string         `json:"name"`
	Provider         map[string]any `json:"provider"`
	IntervalSeconds  int            `json:"intervalSeconds"`
	Count            int            `json:"count"`
	SuccessCondition string         `json:"successCondition"`
	FailureCondition string         `json:"failureCondition,omitempty"`
	SuccessThreshold *int           `json:"successThreshold,omitempty"`
	FailureThreshold int            `json:"failureThreshold,omitempty"`
}

// PolicySkip lifts one rule for one version, optionally only in one
// environment or on one resource, until ExpiresAt.
type PolicySkip struct {
	ID            string    `json:"id"`
	WorkspaceID   string    `json:"workspaceId"`
	VersionID     string    `json:"versionId"`
	RuleID        string    `json:"ruleId"`
	EnvironmentID string    `json:"environmentId,omitempty"`
	ResourceID    string    `json:"resourceId,omitempty"`
	Reason        string    `json:"reason"`
	CreatedBy     string    `json:"createdBy"`
	CreatedAt     time.Time `json:"createdAt"`
	ExpiresAt     time.Time `json:"expiresAt,omitzero"`
}

// Approval statuses.
const (
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
)

// UserApprovalRecord is one user's decision on a version in an environment.
type UserApprovalRecord struct {
	UserID string `json:"userId"`
	// Groups are the groups of the approver's token when it was given:
	// set by the engine from the authenticated caller, never taken from
	// the producer.
	Groups        []string  `json:"groups,omitempty"`
	VersionID     string    `json:"versionId"`
	EnvironmentID string    `json:"environmentId"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}

// ID returns the record's identity, made of its version, user and
// environment.
func (a *UserApprovalRecord) ID() string { return CompositeKey(a.VersionID, a.UserID, a.EnvironmentID) }
