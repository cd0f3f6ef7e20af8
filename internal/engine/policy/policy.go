// Package policy evaluates policy rules for one release target and one
// candidate version. Each rule kind lives in its own file as a pure function
// of an Input; the engine decides which rules apply (enabled policies whose
// selector matches the target, minus skipped rules) and what to do with the
// results.
package policy

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Action types a pending rule waits for.
const (
	ActionApproval = "approval"
	ActionWait     = "wait"
)

// Result is one rule's answer. A rule allows, denies, or leaves the version
// pending (ActionRequired, with ActionType saying what for); any answer may
// carry the time at which it should be asked again.
type Result struct {
	RuleID             string         `json:"ruleId"`
	Kind               string         `json:"kind"`
	Allowed            bool           `json:"allowed"`
	ActionRequired     bool           `json:"actionRequired"`
	ActionType         string         `json:"actionType,omitempty"`
	Message            string         `json:"message"`
	Details            map[string]any `json:"details"`
	SatisfiedAt        *time.Time     `json:"satisfiedAt,omitempty"`
	NextEvaluationTime *time.Time     `json:"nextEvaluationTime,omitempty"`
}

// Input is what a rule may look at. Reader gives access to the whole
// workspace (other targets, jobs, approvals) as of the evaluation.
type Input struct {
	// Now is the evaluation time; rules never read the wall clock.
	Now    time.Time
	Reader store.Reader
	// Target and its entities.
	Target      *model.ReleaseTarget
	Resource    *model.Resource
	Environment *model.Environment
	Deployment  *model.Deployment
	// Version is the candidate being evaluated.
	Version *model.DeploymentVersion
	// Prior holds the results of the target's other rules for this version,
	// evaluated before this one (gradual rollout starts when approval and
	// progression rules were satisfied).
	Prior []Result
	// Memo shares work between the targets of one evaluation round; nil
	// shares nothing.
	Memo *Memo
}

// Allow returns an allowing result.
func Allow(rule *model.PolicyRule, kind, msg string) Result {
	return Result{RuleID: rule.ID, Kind: kind, Allowed: true, Message: msg, Details: map[string]any{}}
}

// Deny returns a denying result: nothing but a change in the workspace can
// make the rule pass.
func Deny(rule *model.PolicyRule, kind, msg string) Result {
	return Result{RuleID: rule.ID, Kind: kind, Message: msg, Details: map[string]any{}}
}

// Pending returns a result waiting for an action (approval or wait).
func Pending(rule *model.PolicyRule, kind, action, msg string) Result {
	return Result{RuleID: rule.ID, Kind: kind, ActionRequired: true, ActionType: action, Message: msg, Details: map[string]any{}}
}

// At returns r with its next evaluation time set to t.
func (r Result) At(t time.Time) Result {
	t = t.UTC()
	r.NextEvaluationTime = &t
	return r
}

// Satisfied returns r with satisfiedAt set to t.
func (r Result) Satisfied(t time.Time) Result {
	t = t.UTC()
	r.SatisfiedAt = &t
	return r
}

// Rule kinds, as named in results.
const (
	KindAnyApproval            = "anyApproval"
	KindEnvironmentProgression = "environmentProgression"
	KindGradualRollout         = "gradualRollout"
	KindDeploymentWindow       = "deploymentWindow"
	KindVersionCooldown        = "versionCooldown"
	KindVersionSelector        = "versionSelector"
	KindDeploymentDependency   = "deploymentDependency"
)

// Gating reports whether rule gates versions (the rules Evaluate answers);
// retry, rollback and verification act on jobs instead.
func Gating(rule *model.PolicyRule) bool {
	return rule.AnyApproval != nil || rule.EnvironmentProgression != nil || rule.GradualRollout != nil ||
		rule.DeploymentWindow != nil || rule.VersionCooldown != nil || rule.VersionSelector != nil ||
		rule.DeploymentDependency != nil
}

// Evaluate answers one version-gating rule. Rules whose answer depends on
// others' (gradual rollout) must be evaluated last; see Order.
func Evaluate(in *Input, rule *model.PolicyRule) Result {
	switch {
	case rule.AnyApproval != nil:
		return evalAnyApproval(in, rule)
	case rule.EnvironmentProgression != nil:
		return evalEnvironmentProgression(in, rule)
	case rule.GradualRollout != nil:
		return evalGradualRollout(in, rule)
	case rule.DeploymentWindow != nil:
		return evalDeploymentWindow(in, rule)
	case rule.VersionCooldown != nil:
		return evalVersionCooldown(in, rule)
	case rule.VersionSelector != nil:
		return evalVersionSelector(in, rule)
	case rule.DeploymentDependency != nil:
		return evalDeploymentDependency(in, rule)
	}
	return Allow(rule, "unknown", "not a gating rule")
}

// Order returns the rules sorted so that gradual rollouts come last.
func Order(rules []*model.PolicyRule) []*model.PolicyRule {
	out := make([]*model.PolicyRule, 0, len(rules))
	var last []*model.PolicyRule
	for _, r := range rules {
		if r.GradualRollout != nil {
			last = append(last, r)
			continue
		}
		out = append(out, r)
	}
	return append(out, last...)
}
