package policy

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// dependencyEnv compiles dependsOn expressions, which see only `deployment`.
// Shared so its compiled-program cache is too.
var dependencyEnv = selector.MustNewEnv("deployment")

// evalDeploymentDependency holds a target until every other deployment that
// dependsOn matches has succeeded on the same resource: one of its release
// targets there must have a successful job as its latest completed one. It
// waits rather than denies, and needs no next evaluation time, because the
// engine re-evaluates dependent targets whenever a job succeeds.
func evalDeploymentDependency(in *Input, rule *model.PolicyRule) Result {
	expr := rule.DeploymentDependency.DependsOn
	withDetails := func(r Result) Result {
		r.Details["dependsOn"] = expr
		r.Details["resourceId"] = in.Target.ResourceID
		return r
	}
	m, err := dependencyEnv.CompileCEL(expr)
	if err != nil {
		return withDetails(Deny(rule, KindDeploymentDependency, fmt.Sprintf("dependsOn is invalid: %v", err)))
	}
	var deps []*model.Deployment
	for _, d := range store.Deployments.Items(in.Reader) {
		// A deployment never waits for itself, even when dependsOn matches it.
		if d.ID == in.Target.DeploymentID {
			continue
		}
		if m.Match(map[string]any{"deployment": selector.DeploymentVars(d)}) {
			deps = append(deps, d)
		}
	}
	if len(deps) == 0 {
		// A dependency on nothing is almost certainly a mistake in the
		// expression; passing it would silently drop the ordering.
		return withDetails(Deny(rule, KindDeploymentDependency, fmt.Sprintf("no deployment matches dependsOn %q", expr)))
	}

	targets := store.TargetsByResource.Get(in.Reader, in.Target.ResourceID)
	// Empty, not nil, so Details encode as [] rather than null.
	met, metNames, missingIDs, waiting := []string{}, []string{}, []string{}, []string{}
	var satisfiedAt time.Time
	for _, d := range deps {
		at, reason := dependencySucceeded(in.Reader, targets, d.ID)
		if reason != "" {
			missingIDs = append(missingIDs, d.ID)
			waiting = append(waiting, fmt.Sprintf("%s (%s)", nameOfDeployment(d), reason))
			continue
		}
		met = append(met, d.ID)
		metNames = append(metNames, nameOfDeployment(d))
		// All dependencies are needed, so the rule holds from the last of them.
		if at.After(satisfiedAt) {
			satisfiedAt = at
		}
	}
	resource := in.Target.ResourceID
	if in.Resource != nil && in.Resource.Name != "" {
		resource = in.Resource.Name
	}
	if len(waiting) > 0 {
		r := withDetails(Pending(rule, KindDeploymentDependency, ActionWait, fmt.Sprintf(
			"waiting for %s to deploy successfully on %s: %s",
			singularOrPlural(len(waiting), "a dependency", "dependencies"), resource, strings.Join(waiting, "; "))))
		r.Details["satisfied"] = met
		r.Details["missing"] = missingIDs
		return r
	}
	r := withDetails(Allow(rule, KindDeploymentDependency, fmt.Sprintf(
		"%s deployed successfully on %s", strings.Join(metNames, ", "), resource)))
	r.Details["satisfied"] = met
	if !satisfiedAt.IsZero() {
		r = r.Satisfied(satisfiedAt)
	}
	return r
}

// dependencySucceeded reports whether the deployment has a release target
// among targets (those of one resource) whose latest completed job is
// successful. It returns the completion time of the newest such success, or
// a short reason, in words, why the dependency is not met yet.
func dependencySucceeded(r store.Reader, targets []*model.ReleaseTarget, deploymentID string) (time.Time, string) {
	var (
		hasTarget bool
		success   time.Time
		lastOther *model.Job // newest completed job that is not a success
	)
	for _, t := range targets {
		if t.DeploymentID != deploymentID {
			continue
		}
		hasTarget = true
		j := latestCompletedJob(r, t.Key())
		switch {
		case j == nil:
		case j.Status == model.JobSuccessful:
			if at := history.Completion(j); at.After(success) {
				success = at
			}
		case lastOther == nil || history.Completion(j).After(history.Completion(lastOther)):
			lastOther = j
		}
	}
	switch {
	case !hasTarget:
		return time.Time{}, "not deployed to this resource"
	case !success.IsZero():
		return success, ""
	case lastOther != nil:
		return time.Time{}, "its latest job ended with status " + lastOther.Status
	}
	return time.Time{}, "no job has completed yet"
}

// latestCompletedJob returns the target's job in a terminal status that
// completed last (ties: greater id), or nil. Completion time, not creation
// time, decides: a job that finished last reflects what is deployed now.
func latestCompletedJob(r store.Reader, targetKey string) *model.Job {
	var best *model.Job
	for _, j := range store.JobsByTarget.Get(r, targetKey) {
		if j.Status == "" || model.IsProcessingJobStatus(j.Status) {
			continue
		}
		if best == nil {
			best = j
			continue
		}
		c := history.Completion(j).Compare(history.Completion(best))
		if c > 0 || (c == 0 && cmp.Less(best.ID, j.ID)) {
			best = j
		}
	}
	return best
}

// nameOfDeployment names a deployment for messages: its name, else its slug,
// else its id.
func nameOfDeployment(d *model.Deployment) string {
	switch {
	case d.Name != "":
		return d.Name
	case d.Slug != "":
		return d.Slug
	}
	return d.ID
}

// singularOrPlural returns one when n is 1 and many otherwise.
func singularOrPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
