package model

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validator is implemented by every entity that callers can write.
type Validator interface {
	// Validate checks the entity on its own and returns an EINVALID *Error
	// naming the first offending field, or nil.
	Validate() error
}

func required(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return Invalid(field, "is required")
	}
	return nil
}

func oneOf(field, value string, allowed ...string) error {
	if !slices.Contains(allowed, value) {
		return Invalid(field, "%q is not one of %s", value, strings.Join(allowed, ", "))
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Validate implements Validator.
func (s *System) Validate() error {
	return firstErr(required("system.id", s.ID), required("system.name", s.Name))
}

// Validate implements Validator.
func (d *Deployment) Validate() error {
	if err := firstErr(required("deployment.id", d.ID), required("deployment.name", d.Name)); err != nil {
		return err
	}
	for i, a := range d.JobAgents {
		if strings.TrimSpace(a.Ref) == "" {
			return Invalid("deployment.jobAgents["+strconv.Itoa(i)+"].ref", "is required")
		}
	}
	return nil
}

// Validate implements Validator.
func (e *Environment) Validate() error {
	return firstErr(required("environment.id", e.ID), required("environment.name", e.Name))
}

// Validate implements Validator.
func (r *Resource) Validate() error {
	return firstErr(required("resource.id", r.ID), required("resource.identifier", r.Identifier),
		required("resource.name", r.Name))
}

// Validate implements Validator.
func (p *ResourceProvider) Validate() error {
	return firstErr(required("resourceProvider.id", p.ID), required("resourceProvider.name", p.Name))
}

// Validate implements Validator.
func (l *SystemDeploymentLink) Validate() error {
	return firstErr(required("systemId", l.SystemID), required("deploymentId", l.DeploymentID))
}

// Validate implements Validator.
func (l *SystemEnvironmentLink) Validate() error {
	return firstErr(required("systemId", l.SystemID), required("environmentId", l.EnvironmentID))
}

// Validate implements Validator.
func (v *DeploymentVersion) Validate() error {
	if err := firstErr(required("deploymentVersion.id", v.ID), required("deploymentVersion.tag", v.Tag),
		required("deploymentVersion.deploymentId", v.DeploymentID)); err != nil {
		return err
	}
	return oneOf("deploymentVersion.status", v.Status, VersionUnspecified, VersionBuilding, VersionReady,
		VersionFailed, VersionRejected, VersionPaused)
}

// Validate implements Validator.
func (v *DeploymentVariable) Validate() error {
	return firstErr(required("deploymentVariable.id", v.ID), required("deploymentVariable.key", v.Key),
		required("deploymentVariable.deploymentId", v.DeploymentID))
}

// Validate implements Validator.
func (v *DeploymentVariableValue) Validate() error {
	if err := firstErr(required("deploymentVariableValue.id", v.ID),
		required("deploymentVariableValue.deploymentVariableId", v.DeploymentVariableID)); err != nil {
		return err
	}
	return v.Value.validate("deploymentVariableValue.value")
}

// Validate implements Validator.
func (v *ResourceVariable) Validate() error {
	if err := firstErr(required("resourceVariable.resourceId", v.ResourceID),
		required("resourceVariable.key", v.Key)); err != nil {
		return err
	}
	return v.Value.validate("resourceVariable.value")
}

func (v Value) validate(field string) error {
	if v.Reference != nil && strings.TrimSpace(v.Reference.Reference) == "" {
		return Invalid(field+".reference", "is required")
	}
	if v.Sensitive != nil && v.Sensitive.Value == "" && v.Sensitive.Ciphertext == "" && v.Sensitive.ValueHash == "" {
		return Invalid(field+".sensitive", "has no value")
	}
	return nil
}

// Validate implements Validator.
func (a *JobAgent) Validate() error {
	return firstErr(required("jobAgent.id", a.ID), required("jobAgent.name", a.Name),
		required("jobAgent.type", a.Type))
}

// Validate implements Validator.
func (j *Job) Validate() error {
	if err := required("job.id", j.ID); err != nil {
		return err
	}
	return oneOf("job.status", j.Status, JobStatuses...)
}

// Validate implements Validator.
func (p *Policy) Validate() error {
	if err := firstErr(required("policy.id", p.ID), required("policy.name", p.Name)); err != nil {
		return err
	}
	for i := range p.Rules {
		if err := p.Rules[i].validate("policy.rules[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	return nil
}

func (r *PolicyRule) validate(field string) error {
	if err := required(field+".id", r.ID); err != nil {
		return err
	}
	kinds := 0
	for _, set := range []bool{r.AnyApproval != nil, r.EnvironmentProgression != nil, r.GradualRollout != nil,
		r.DeploymentWindow != nil, r.VersionCooldown != nil, r.VersionSelector != nil,
		r.DeploymentDependency != nil, r.Retry != nil, r.Rollback != nil, r.Verification != nil,
		r.Supersede != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return Invalid(field, "must hold exactly one rule kind, has %d", kinds)
	}
	switch {
	case r.AnyApproval != nil:
		return r.AnyApproval.validate(field + ".anyApproval")
	case r.GradualRollout != nil:
		if err := oneOf(field+".gradualRollout.rolloutType", r.GradualRollout.RolloutType, "linear", "linear-normalized"); err != nil {
			return err
		}
		return CheckSpan(field+".gradualRollout.timeScaleInterval", r.GradualRollout.TimeScaleInterval, time.Second, 0)
	case r.DeploymentWindow != nil:
		if err := required(field+".deploymentWindow.rrule", r.DeploymentWindow.RRule); err != nil {
			return err
		}
		return CheckSpan(field+".deploymentWindow.durationMinutes", r.DeploymentWindow.DurationMinutes, time.Minute, 1)
	case r.VersionCooldown != nil:
		return CheckSpan(field+".versionCooldown.intervalSeconds", r.VersionCooldown.IntervalSeconds, time.Second, 0)
	case r.EnvironmentProgression != nil:
		return r.EnvironmentProgression.validate(field + ".environmentProgression")
	case r.VersionSelector != nil:
		if r.VersionSelector.Selector == nil {
			return Invalid(field+".versionSelector.selector", "is required")
		}
	case r.DeploymentDependency != nil:
		if err := required(field+".deploymentDependency.dependsOn", r.DeploymentDependency.DependsOn); err != nil {
			return err
		}
	case r.Retry != nil:
		return r.Retry.validate(field + ".retry")
	case r.Verification != nil:
		if len(r.Verification.Metrics) == 0 {
			return Invalid(field+".verification.metrics", "needs at least one metric")
		}
	}
	return nil
}

func (p *EnvironmentProgressionRule) validate(field string) error {
	if p.DependsOnEnvironmentSelector == nil {
		return Invalid(field+".dependsOnEnvironmentSelector", "is required")
	}
	if pc := p.MinimumSuccessPercentage; pc < 0 || pc > 100 {
		return Invalid(field+".minimumSuccessPercentage", "must be between 0 and 100")
	}
	soak := p.soakField
	if soak == "" {
		soak = "minimumSockTimeMinutes"
	}
	return firstErr(CheckSpan(field+"."+soak, p.MinimumSoakTimeMinutes, time.Minute, 0),
		CheckSpan(field+".maximumAgeHours", p.MaximumAgeHours, time.Hour, 0))
}

func (r *RetryRule) validate(field string) error {
	if r.MaxRetries < 0 {
		return Invalid(field+".maxRetries", "must not be negative")
	}
	if s := r.BackoffStrategy; s != "" {
		if err := oneOf(field+".backoffStrategy", s, "linear", "exponential"); err != nil {
			return err
		}
	}
	if r.BackoffSeconds != nil {
		if err := CheckSpan(field+".backoffSeconds", *r.BackoffSeconds, time.Second, 0); err != nil {
			return err
		}
	}
	if r.MaxBackoffSeconds != nil {
		return CheckSpan(field+".maxBackoffSeconds", *r.MaxBackoffSeconds, time.Second, 0)
	}
	return nil
}

// Validate implements Validator.
func (s *PolicySkip) Validate() error {
	return firstErr(required("policySkip.id", s.ID), required("policySkip.versionId", s.VersionID),
		required("policySkip.ruleId", s.RuleID))
}

// Validate implements Validator.
func (a *UserApprovalRecord) Validate() error {
	if err := firstErr(required("userApprovalRecord.userId", a.UserID),
		required("userApprovalRecord.versionId", a.VersionID),
		required("userApprovalRecord.environmentId", a.EnvironmentID)); err != nil {
		return err
	}
	return oneOf("userApprovalRecord.status", a.Status, ApprovalApproved, ApprovalRejected)
}

// Validate implements Validator.
func (r *RelationshipRule) Validate() error {
	if err := firstErr(required("relationshipRule.id", r.ID), required("relationshipRule.reference", r.Reference)); err != nil {
		return err
	}
	types := []string{EntityResource, EntityDeployment, EntityEnvironment}
	if err := firstErr(oneOf("relationshipRule.fromType", r.FromType, types...),
		oneOf("relationshipRule.toType", r.ToType, types...)); err != nil {
		return err
	}
	if r.Matcher.CEL != nil && len(r.Matcher.Properties) > 0 {
		return Invalid("relationshipRule.matcher", "has both cel and properties; give one")
	}
	for i, p := range r.Matcher.Properties {
		f := "relationshipRule.matcher.properties[" + strconv.Itoa(i) + "]"
		if len(p.FromProperty) == 0 || len(p.ToProperty) == 0 {
			return Invalid(f, "fromProperty and toProperty are required")
		}
		if err := oneOf(f+".operator", p.Operator, "equals", "notEquals", "contains", "startsWith", "endsWith", "regex"); err != nil {
			return err
		}
	}
	return nil
}

// Validate implements Validator.
func (w *Workflow) Validate() error {
	if err := firstErr(required("workflow.id", w.ID), required("workflow.name", w.Name)); err != nil {
		return err
	}
	for i, j := range w.Jobs {
		if err := required("workflow.jobs["+strconv.Itoa(i)+"].ref", j.Ref); err != nil {
			return err
		}
	}
	return nil
}

// Validate implements Validator.
func (r *WorkflowRun) Validate() error {
	if r.WorkflowID == "" && r.WorkflowSlug == "" {
		return Invalid("workflowRun.workflowId", "is required (or workflowSlug)")
	}
	return required("workflowRun.id", r.ID)
}

// Validate implements Validator.
func (j *WorkflowJob) Validate() error { return required("workflowJob.id", j.ID) }

// Validate implements Validator.
func (r *Release) Validate() error { return required("release.id", r.ID) }

// Validate implements Validator.
func (t *ReleaseTarget) Validate() error {
	return firstErr(required("resourceId", t.ResourceID), required("environmentId", t.EnvironmentID),
		required("deploymentId", t.DeploymentID))
}
