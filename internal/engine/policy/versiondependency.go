package policy

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A version's own dependencies are a built-in check rather than a policy
// rule: the version carries them, so they apply wherever it may deploy.
// Their result names this kind and rule id; a policy skip of that rule id
// lifts them for the version.
const (
	KindVersionDependency   = "deploymentVersionDependency"
	VersionDependencyRuleID = "deployment-version-dependency"
)

// VersionDependencyEnv compiles a version dependency's versionSelector:
// CEL over `version`, the other deployment's current version on the
// resource, and `deployment`, that deployment.
var VersionDependencyEnv = selector.MustNewEnv("version", "deployment")

// versionDependencyRule stands for the built-in check in results.
var versionDependencyRule = &model.PolicyRule{ID: VersionDependencyRuleID}

// EvaluateVersionDependencies checks the candidate version's dependencies
// on the target's resource: for each deployment the version names, one of
// that deployment's targets on the resource must have a current release
// whose version the dependency's versionSelector accepts. Unmet, the
// version waits (the engine re-evaluates dependents when a job succeeds or
// a verification finishes there); a named deployment that no longer exists,
// or a selector that does not compile, denies it.
func EvaluateVersionDependencies(in *Input) Result {
	deps := in.Version.Dependencies
	resource := in.Target.ResourceID
	if in.Resource != nil && in.Resource.Name != "" {
		resource = in.Resource.Name
	}
	targets := store.TargetsByResource.Get(in.Reader, in.Target.ResourceID)
	met, waiting, broken := []string{}, []string{}, []string{}
	var satisfiedAt time.Time
	for _, id := range slices.Sorted(maps.Keys(deps)) {
		state, at, reason := versionDependencyMet(in.Reader, targets, id, deps[id].VersionSelector)
		switch state {
		case depMet:
			met = append(met, id)
			if at.After(satisfiedAt) {
				satisfiedAt = at
			}
		case depBroken:
			broken = append(broken, reason)
		default:
			waiting = append(waiting, reason)
		}
	}
	details := func(r Result) Result {
		r.Details["dependencies"] = deps
		r.Details["resourceId"] = in.Target.ResourceID
		r.Details["satisfied"] = met
		return r
	}
	version := nameOfVersion(in.Version)
	switch {
	case len(broken) > 0:
		return details(Deny(versionDependencyRule, KindVersionDependency, fmt.Sprintf(
			"version %s cannot deploy on %s: %s", version, resource, strings.Join(broken, "; "))))
	case len(waiting) > 0:
		return details(Pending(versionDependencyRule, KindVersionDependency, ActionWait, fmt.Sprintf(
			"version %s waits on %s for %s", version, resource, strings.Join(waiting, "; "))))
	}
	r := details(Allow(versionDependencyRule, KindVersionDependency, fmt.Sprintf(
		"the dependencies of version %s run on %s", version, resource)))
	if !satisfiedAt.IsZero() {
		r = r.Satisfied(satisfiedAt)
	}
	return r
}

// depState is how one version dependency stands.
type depState int

const (
	depWaiting depState = iota // a deployment of the upstream can meet it
	depMet
	depBroken // no deployment can: the upstream is gone, the selector broken
)

// versionDependencyMet reports whether deployment depID runs, on one of
// targets, a current version expr accepts, and since when (the completion
// of that release's job); otherwise it says why in words.
func versionDependencyMet(r store.Reader, targets []*model.ReleaseTarget, depID, expr string) (depState, time.Time, string) {
	d, err := store.Deployments.Get(r, depID)
	if err != nil {
		return depBroken, time.Time{}, fmt.Sprintf("deployment %s does not exist", depID)
	}
	name := nameOfDeployment(d)
	m, err := VersionDependencyEnv.CompileCEL(expr)
	if err != nil {
		return depBroken, time.Time{}, fmt.Sprintf("the versionSelector for %s is invalid: %v", name, err)
	}
	var running []string
	var at time.Time
	deployed := false
	for _, t := range targets {
		if t.DeploymentID != depID {
			continue
		}
		deployed = true
		j := history.LatestSuccessful(r, t.Key())
		if j == nil {
			continue
		}
		cur, err := store.Releases.Get(r, j.ReleaseID)
		if err != nil {
			continue
		}
		if m.Match(map[string]any{"version": selector.VersionVars(cur.Version), "deployment": selector.DeploymentVars(d)}) {
			if c := history.Completion(j); at.IsZero() || c.Before(at) {
				at = c
			}
			continue
		}
		running = append(running, cur.Version.Tag)
	}
	switch {
	case !at.IsZero():
		return depMet, at, ""
	case !deployed:
		return depWaiting, time.Time{}, fmt.Sprintf("%s, which is not deployed to it", name)
	case len(running) > 0:
		slices.SortFunc(running, cmp.Compare)
		return depWaiting, time.Time{}, fmt.Sprintf("%s to run a version matching %q (it runs %s)", name, expr,
			strings.Join(slices.Compact(running), ", "))
	}
	return depWaiting, time.Time{}, fmt.Sprintf("%s to deploy successfully (it has not yet)", name)
}
