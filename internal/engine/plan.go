package engine

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// VersionEvaluation is the decision on one candidate version for a target.
type VersionEvaluation struct {
	Version *model.DeploymentVersion `json:"version"`
	Allowed bool                     `json:"allowed"`
	Message string                   `json:"message"`
	// Checks are the built-in checks besides policy rules that judged the
	// version (its own dependencies).
	Checks   []policy.Result    `json:"checks,omitempty"`
	Policies []PolicyEvaluation `json:"policies"`
}

// PolicyEvaluation is one policy's rules' results for a version.
type PolicyEvaluation struct {
	Policy  *model.Policy   `json:"policy"`
	Results []policy.Result `json:"ruleResults"`
	Skipped []string        `json:"skippedRuleIds,omitempty"`
}

// Plan is what the reconciler decided for one target. Computing it has no
// side effects; applyPlan carries it out.
type Plan struct {
	Target *model.ReleaseTarget
	// Desired is the release the target should run; nil when no version
	// passes.
	Desired *resolvedRelease
	// Evaluations are the versions considered, newest first, up to and
	// including the desired one.
	Evaluations []VersionEvaluation
	// Jobs are the agents the desired release gets a job on now: all of
	// them on a redeploy, else those the retry rules allow.
	Jobs []agentChoice
	// Reason explains why no job is created.
	Reason string
	// NextEvaluation is when the target must be evaluated again by itself.
	NextEvaluation *time.Time
	// WaitingOn are the rule kinds that held back a version newer than the
	// desired one.
	WaitingOn []string
	// Superseded are the pending jobs of older versions the desired
	// release cancels (supersede rules).
	Superseded []*model.Job
	// AwaitingApproval are the versions an approval rule held back.
	AwaitingApproval []string
}

// planner computes plans; it caches what every target of one unit of work
// shares.
type planner struct {
	logger    *slog.Logger
	r         store.Reader
	now       time.Time
	policies  []*model.Policy
	relations *relationIndex
	memo      *policy.Memo
	// freezes are those in force at now.
	freezes []*model.Freeze
	// exclude names rules (by id or kind) to evaluate as if skipped: the
	// what-if of eligible versions. Nil excludes none.
	exclude map[string]bool
	// configs shares the jobs' merged agent configs between targets.
	configs *configMemo
}

func newPlanner(logger *slog.Logger, r store.Reader, now time.Time) (*planner, error) {
	rel, err := newRelationIndex(r)
	if err != nil {
		return nil, err
	}
	return &planner{logger: logger, r: r, now: now, policies: enabledPolicies(r), relations: rel, memo: policy.NewMemo(),
		freezes: activeFreezes(r, now), configs: newConfigMemo()}, nil
}

func enabledPolicies(r store.Reader) []*model.Policy {
	var out []*model.Policy
	for _, p := range store.Policies.Items(r) {
		if p.Enabled {
			out = append(out, p)
		}
	}
	return out
}

// matchingPolicies returns the enabled policies whose selector matches the
// target.
func (p *planner) matchingPolicies(te *targetEntities) ([]*model.Policy, error) {
	if len(p.policies) == 0 {
		return nil, nil
	}
	vars := te.vars()
	var out []*model.Policy
	for _, pol := range p.policies {
		m, err := policyEnv.CompileCEL(string(pol.Selector))
		if err != nil {
			// A stored policy selector that no longer compiles fails
			// closed: the policy applies to every target, so that its
			// gates are never bypassed.
			reportBroken(p.logger, "policy selector", string(pol.Selector), err)
			out = append(out, pol)
			continue
		}
		if m.Match(vars) {
			out = append(out, pol)
		}
	}
	return out, nil
}

// compute decides the desired release of a target and whether it gets a job.
func (p *planner) compute(t *model.ReleaseTarget, redeploy bool) (*Plan, error) {
	plan := &Plan{Target: t}
	te, err := loadTarget(p.r, t)
	if err != nil {
		return nil, err
	}
	policies, err := p.matchingPolicies(te)
	if err != nil {
		return nil, err
	}
	for _, v := range history.Versions(p.r, t.DeploymentID) {
		ev := p.evaluateVersion(te, policies, v)
		plan.Evaluations = append(plan.Evaluations, ev.VersionEvaluation)
		plan.NextEvaluation = earliest(plan.NextEvaluation, ev.next)
		if !ev.Allowed {
			for _, r := range ev.Checks {
				if !r.Allowed && !slices.Contains(plan.WaitingOn, r.Kind) {
					plan.WaitingOn = append(plan.WaitingOn, r.Kind)
				}
			}
			for _, pe := range ev.Policies {
				for _, r := range pe.Results {
					if !r.Allowed && !slices.Contains(plan.WaitingOn, r.Kind) {
						plan.WaitingOn = append(plan.WaitingOn, r.Kind)
					}
					if !r.Allowed && r.Kind == policy.KindAnyApproval && !slices.Contains(plan.AwaitingApproval, v.ID) {
						plan.AwaitingApproval = append(plan.AwaitingApproval, v.ID)
					}
				}
			}
			continue
		}
		plan.Desired, err = buildRelease(p.r, te, v, p.relations)
		if err != nil {
			return nil, err
		}
		break
	}
	if plan.Desired == nil && redeploy {
		// A redeploy without a desired release runs the current one again.
		if current := history.CurrentRelease(p.r, t.Key()); current != nil {
			plan.Desired = rerun(p.r, t.Key(), current)
		}
	}
	if plan.Desired == nil {
		plan.Reason = "no version passes"
		return plan, nil
	}
	hold, err := p.frozen(te)
	if err != nil {
		return nil, err
	}
	if hold != nil {
		plan.Reason, plan.NextEvaluation = hold.message(), earliest(plan.NextEvaluation, hold.until)
		if current := history.CurrentRelease(p.r, t.Key()); current == nil || current.ID != plan.Desired.release.ID {
			// A release that would deploy is held: the target waits on the
			// freeze, as on a rule.
			plan.WaitingOn = append(plan.WaitingOn, policy.KindFreeze)
		}
		return plan, nil
	}
	choices := chooseAgents(p.r, te, plan.Desired.release, p.configs)
	if redeploy {
		plan.Jobs, plan.Reason = choices, "redeploy requested"
		return plan, nil
	}
	active := history.Processing(p.r, t.Key())
	plan.Superseded, active = supersede(p.r, policies, plan.Desired.release, active)
	if len(active) > 0 {
		plan.Reason = fmt.Sprintf("waiting for job %s (%s) to finish", active[0].ID, active[0].Status)
		return plan, nil
	}
	jobs, rules := history.Jobs(p.r, t.Key()), retryRules(policies)
	var reasons []string
	for _, c := range choices {
		d := policy.Retry(p.now, jobs, retryWalk(plan.Desired.release.ID, c, choices), rules)
		if d.Allowed {
			plan.Jobs = append(plan.Jobs, c)
		}
		if !slices.Contains(reasons, d.Message) {
			reasons = append(reasons, d.Message)
		}
		plan.NextEvaluation = earliest(plan.NextEvaluation, d.NextEvaluationTime)
	}
	plan.Reason = strings.Join(reasons, "; ")
	return plan, nil
}

// rerun is a release to run again as it ran before: its variables as its
// latest successful job was given them, not a re-resolution of today's.
func rerun(r store.Reader, targetKey string, rel *model.Release) *resolvedRelease {
	rr := &resolvedRelease{release: rel, dispatch: rel.Variables}
	if last := history.LatestSuccessful(r, targetKey); last != nil && last.ReleaseID == rel.ID && last.DispatchContext != nil {
		rr.dispatch = last.DispatchContext.Variables
	}
	return rr
}

type versionResult struct {
	VersionEvaluation
	next *time.Time
}

// evaluateVersion runs the built-in status check and every gating rule of
// the matching policies, minus skipped rules, for one candidate.
func (p *planner) evaluateVersion(te *targetEntities, policies []*model.Policy, v *model.DeploymentVersion) versionResult {
	res := versionResult{VersionEvaluation: VersionEvaluation{Version: v, Allowed: true, Policies: []PolicyEvaluation{}}}
	switch {
	case v.Status == model.VersionReady:
	case v.Status == model.VersionPaused && history.HasReleaseOf(p.r, te.target.Key(), v.ID):
	default:
		res.Allowed = false
		res.Message = fmt.Sprintf("version %s is %s", v.Tag, v.Status)
		return res
	}
	skipped := p.skippedRules(te, v)
	in := &policy.Input{Now: p.now, Reader: p.r, Target: te.target, Resource: te.resource,
		Environment: te.environment, Deployment: te.deployment, Version: v, Memo: p.memo}
	if len(v.Dependencies) > 0 && !skipped[policy.VersionDependencyRuleID] {
		r := policy.EvaluateVersionDependencies(in)
		res.Checks = append(res.Checks, r)
		if !r.Allowed {
			res.Allowed, res.Message = false, r.Message
		}
	}
	type owned struct {
		rule *model.PolicyRule
		pe   int
	}
	var rules []owned
	for _, pol := range policies {
		pe := PolicyEvaluation{Policy: pol, Results: []policy.Result{}}
		for i := range pol.Rules {
			rule := &pol.Rules[i]
			if !policy.Gating(rule) {
				continue
			}
			if skipped[rule.ID] || p.excluded(rule) {
				pe.Skipped = append(pe.Skipped, rule.ID)
				continue
			}
			rules = append(rules, owned{rule, len(res.Policies)})
		}
		res.Policies = append(res.Policies, pe)
	}
	// Gradual rollouts go last: they start when the other rules were met.
	slices.SortStableFunc(rules, func(a, b owned) int {
		return boolInt(a.rule.GradualRollout != nil) - boolInt(b.rule.GradualRollout != nil)
	})
	for _, o := range rules {
		r := policy.Evaluate(in, o.rule)
		in.Prior = append(in.Prior, r)
		res.Policies[o.pe].Results = append(res.Policies[o.pe].Results, r)
		res.next = earliest(res.next, r.NextEvaluationTime)
		if !r.Allowed {
			res.Allowed = false
			if res.Message == "" {
				res.Message = r.Message
			}
		}
	}
	if res.Allowed {
		res.Message = fmt.Sprintf("version %s may deploy", v.Tag)
	}
	return res
}

// skippedRules returns the rule ids lifted by unexpired skips for this
// version and target.
func (p *planner) skippedRules(te *targetEntities, v *model.DeploymentVersion) map[string]bool {
	out := map[string]bool{}
	for _, s := range store.SkipsByVersion.Get(p.r, v.ID) {
		if !s.ExpiresAt.IsZero() && !p.now.Before(s.ExpiresAt) {
			continue
		}
		if (s.EnvironmentID == "" || s.EnvironmentID == te.environment.ID) &&
			(s.ResourceID == "" || s.ResourceID == te.resource.ID) {
			out[s.RuleID] = true
		}
	}
	return out
}

func retryRules(policies []*model.Policy) []*model.RetryRule {
	var out []*model.RetryRule
	for _, p := range policies {
		for i := range p.Rules {
			if r := p.Rules[i].Retry; r != nil {
				out = append(out, r)
			}
		}
	}
	return out
}

func earliest(a, b *time.Time) *time.Time {
	if b == nil {
		return a
	}
	if a == nil || b.Before(*a) {
		return b
	}
	return a
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// excluded reports whether the planner evaluates rule as if it were
// skipped: its id or its kind is excluded.
func (p *planner) excluded(rule *model.PolicyRule) bool {
	return p.exclude != nil && (p.exclude[rule.ID] || p.exclude[policy.KindOf(rule)])
}
