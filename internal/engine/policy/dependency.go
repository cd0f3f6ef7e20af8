package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// DependsOnEnv compiles deploymentDependency.dependsOn: CEL over
// `deployment` and `version`, that deployment's current version on the
// target's resource. Shared so its compiled-program cache is too.
var DependsOnEnv = selector.MustNewEnv("deployment", "version")

// dependency is a deployment a rule waits for; accepts, when the rule
// reads the deployment's version, says whether a release of it will do.
type dependency struct {
	deployment *model.Deployment
	accepts    func(*model.Release) bool
}

// evalDeploymentDependency holds a target until every other deployment that
// dependsOn matches has succeeded on the same resource: one of its release
// targets there must have a successful job as its latest completed one,
// and, where dependsOn reads `version`, a current version it accepts. It
// waits rather than denies, and needs no next evaluation time, because the
// engine re-evaluates dependent targets whenever a job succeeds or a
// verification finishes.
func evalDeploymentDependency(in *Input, rule *model.PolicyRule) Result {
	expr := rule.DeploymentDependency.DependsOn
	withDetails := func(r Result) Result {
		r.Details["dependsOn"] = expr
		r.Details["resourceId"] = in.Target.ResourceID
		return r
	}
	m, err := DependsOnEnv.CompilePartialCEL(expr)
	if err != nil {
		return withDetails(Deny(rule, KindDeploymentDependency, fmt.Sprintf("dependsOn is invalid: %v", err)))
	}
	found := memoized(in.Memo, "dependency-members/"+expr, func() dependencyMembers { return membersOf(in.Reader, m) })
	var deps []dependency
	for _, d := range found.deps {
		// A deployment never waits for itself, even when dependsOn matches it.
		if d.deployment.ID != in.Target.DeploymentID {
			deps = append(deps, d)
		}
	}
	if len(deps) == 0 {
		if found.open {
			// Only a version not built yet could satisfy the expression:
			// wait for one to deploy rather than deny.
			return withDetails(Pending(rule, KindDeploymentDependency, ActionWait, fmt.Sprintf(
				"no deployment has a version that dependsOn %q accepts yet", expr)))
		}
		// A dependency on nothing is almost certainly a mistake in the
		// expression; passing it would silently drop the ordering.
		return withDetails(Deny(rule, KindDeploymentDependency, fmt.Sprintf("no deployment matches dependsOn %q", expr)))
	}

	targets := store.TargetsByResource.Get(in.Reader, in.Target.ResourceID)
	// Empty, not nil, so Details encode as [] rather than null.
	met, metNames, missingIDs, waiting := []string{}, []string{}, []string{}, []string{}
	var satisfiedAt time.Time
	for _, d := range deps {
		at, reason := dependencySucceeded(in.Reader, targets, d)
		if reason != "" {
			missingIDs = append(missingIDs, d.deployment.ID)
			waiting = append(waiting, fmt.Sprintf("%s (%s)", nameOfDeployment(d.deployment), reason))
			continue
		}
		met = append(met, d.deployment.ID)
		metNames = append(metNames, nameOfDeployment(d.deployment))
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

// dependencyMembers are the deployments a dependsOn expression names, and
// whether it could name another once a version not built yet exists.
type dependencyMembers struct {
	deps []dependency
	open bool
}

// membersOf returns the deployments m names. An expression that decides a
// deployment by its fields alone names it or not; one that also reads the
// version names it when one of the deployment's versions satisfies it
// (evaluating with the version left open would name a deployment for
// which only a missing metadata key stands against it), and then its
// current version on the resource must be one the expression accepts.
func membersOf(r store.Reader, m *selector.Matcher) dependencyMembers {
	var out dependencyMembers
	for _, d := range store.Deployments.Items(r) {
		vars := map[string]any{"deployment": selector.DeploymentVars(d)}
		switch m.MatchUnknown(vars, "version") {
		case selector.True:
			out.deps = append(out.deps, dependency{deployment: d})
		case selector.Unknown:
			accepts := func(rel *model.Release) bool {
				return m.Match(map[string]any{"deployment": vars["deployment"], "version": selector.VersionVars(rel.Version)})
			}
			if slices.ContainsFunc(store.VersionsByDeployment.Get(r, d.ID), func(v *model.DeploymentVersion) bool {
				return accepts(&model.Release{Version: v})
			}) {
				out.deps = append(out.deps, dependency{deployment: d, accepts: accepts})
			} else {
				out.open = true
			}
		}
	}
	slices.SortFunc(out.deps, func(a, b dependency) int { return cmp.Compare(a.deployment.ID, b.deployment.ID) })
	return out
}

// dependencySucceeded reports whether the dependency's deployment has a
// release target among targets (those of one resource) whose latest
// completed job is successful and, when the dependency reads the version,
// whose current release it accepts. It returns the completion time of the
// newest such success, or a short reason, in words, why the dependency is
// not met yet.
func dependencySucceeded(r store.Reader, targets []*model.ReleaseTarget, dep dependency) (time.Time, string) {
	var (
		hasTarget  bool
		success    time.Time
		lastOther  *model.Job // newest completed job that is not a success
		refused    string     // a current version dependsOn does not accept
		unverified bool
	)
	for _, t := range targets {
		if t.DeploymentID != dep.deployment.ID {
			continue
		}
		hasTarget = true
		j := latestCompletedJob(r, t.Key())
		switch {
		case j == nil:
		case j.Status == model.JobSuccessful:
			if dep.accepts != nil {
				cur := history.CurrentRelease(r, t.Key())
				if cur == nil {
					unverified = true
					continue
				}
				if !dep.accepts(cur) {
					refused = cur.Version.Tag
					continue
				}
			}
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
	case refused != "":
		return time.Time{}, "it runs " + refused + ", which dependsOn does not accept"
	case unverified:
		return time.Time{}, "its success is still being verified"
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
