package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// progressionEnv compiles dependsOnEnvironmentSelector: CEL sees only
// `environment`, which is also the subject of JSON selectors.
var progressionEnv = selector.MustNewEnv("environment")

// progressionRetry is how soon a pending progression asks again when no
// soak end is closer; a dependency job's success also re-evaluates at once.
const progressionRetry = time.Minute

// progressionCheck is how one dependency environment stands for the version.
type progressionCheck struct {
	env        *model.Environment
	total      int       // targets of the deployment in the environment
	succeeded  int       // of those, with a qualifying job of the version
	latest     time.Time // latest qualifying completion; zero when none
	rateOK     bool
	soakOK     bool
	ageOK      bool
	soakEnd    time.Time // latest + soak; zero when nothing succeeded
	satisfied  time.Time // when the environment started passing
	waitReason string    // why it does not pass; empty when it does
}

func (c *progressionCheck) passes() bool { return c.rateOK && c.soakOK && c.ageOK }

// evalEnvironmentProgression allows a version once it has succeeded in one of
// the environments the target's environment depends on (see SPEC §4). It
// denies when no dependency environment exists, since only a change to the
// workspace can fix that, and otherwise waits, asking again a minute later
// or exactly when a soak ends, whichever is sooner.
func evalEnvironmentProgression(in *Input, rule *model.PolicyRule) Result {
	p := rule.EnvironmentProgression
	type dependencies struct {
		envs []*model.Environment
		err  error
	}
	// Every target of an environment has the same dependency environments.
	found := memoized(in.Memo, "progression-environments/"+rule.ID+"/"+in.Target.EnvironmentID, func() dependencies {
		envs, err := dependencyEnvironments(in.Reader, in.Target.EnvironmentID, p.DependsOnEnvironmentSelector)
		return dependencies{envs, err}
	})
	deps, err := found.envs, found.err
	if err != nil {
		return Deny(rule, KindEnvironmentProgression, err.Error())
	}
	if len(deps) == 0 {
		return Deny(rule, KindEnvironmentProgression,
			"no other environment of the same system matches dependsOnEnvironmentSelector")
	}
	successes := p.SuccessStatuses
	if len(successes) == 0 {
		successes = []string{model.JobSuccessful}
	}
	checks := make([]*progressionCheck, len(deps))
	for i, env := range deps {
		checks[i] = checkProgression(in, p, env, successes)
	}
	details := map[string]any{"environments": progressionDetails(checks)}
	if p.RequireVerificationPassed {
		details["requireVerificationPassed"] = true
	}

	var best *progressionCheck // passing environment that passed first
	for _, c := range checks {
		if c.passes() && (best == nil || c.satisfied.Before(best.satisfied)) {
			best = c
		}
	}
	if best != nil {
		msg := fmt.Sprintf("%s succeeded in %s", nameOfVersion(in.Version), environmentName(best.env))
		if best.total == 0 {
			msg = fmt.Sprintf("%s has no targets of this deployment to wait for", environmentName(best.env))
		}
		r := Allow(rule, KindEnvironmentProgression, msg).Satisfied(best.satisfied)
		r.Details = details
		return r
	}

	next := in.Now.Add(progressionRetry)
	reasons := make([]string, len(checks))
	for i, c := range checks {
		reasons[i] = c.waitReason
		// Only a soak stands between this environment and passing: ask again
		// exactly when it ends rather than up to a minute late.
		if c.rateOK && !c.soakOK && c.soakEnd.Before(next) && withinAge(p, c.latest, c.soakEnd) {
			next = c.soakEnd
		}
	}
	r := Pending(rule, KindEnvironmentProgression, ActionWait, strings.Join(reasons, "; ")).At(next)
	r.Details = details
	return r
}

// dependencyEnvironments returns the environments other than envID that share
// a system with it and match sel, ordered by id so messages are stable. A
// selector that does not compile is an error (it is checked when the policy
// is written, so this only guards against stale data).
func dependencyEnvironments(r store.Reader, envID string, sel *model.Selector) ([]*model.Environment, error) {
	m, err := progressionEnv.Compile(sel)
	if err != nil {
		return nil, fmt.Errorf("dependsOnEnvironmentSelector: %w", err)
	}
	seen := map[string]bool{envID: true}
	var out []*model.Environment
	for _, link := range store.EnvironmentLinksByEnvironment.Get(r, envID) {
		for _, other := range store.EnvironmentLinksBySystem.Get(r, link.SystemID) {
			if seen[other.EnvironmentID] {
				continue
			}
			seen[other.EnvironmentID] = true
			env, err := store.Environments.Get(r, other.EnvironmentID)
			if err != nil {
				continue // a dangling link: the environment is gone
			}
			if m.Match(map[string]any{"environment": selector.EnvironmentVars(env)}) {
				out = append(out, env)
			}
		}
	}
	slices.SortFunc(out, func(a, b *model.Environment) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// checkProgression measures one dependency environment: how many of the
// deployment's targets there have a job of the version in a success status
// that completed, and whether the rate, soak and age conditions hold now.
func checkProgression(in *Input, p *model.EnvironmentProgressionRule, env *model.Environment, successes []string) *progressionCheck {
	c := &progressionCheck{env: env}
	key := "progression/" + env.ID + "/" + in.Target.DeploymentID + "/" + in.Version.ID + "/" + strings.Join(successes, ",") +
		"/" + strconv.FormatBool(p.RequireVerificationPassed)
	counts := memoized(in.Memo, key, func() progressionCounts {
		return countSuccesses(in, store.TargetsByPair.Get(in.Reader, store.PairKey(env.ID, in.Target.DeploymentID)),
			successes, p.RequireVerificationPassed)
	})
	c.total = counts.total
	if c.total == 0 {
		// Nothing to wait for: the environment has passed since the version
		// exists. The version's createdAt (not now) keeps satisfiedAt stable,
		// so a gradual rollout starting from it does not keep moving.
		c.rateOK, c.soakOK, c.ageOK = true, true, true
		c.satisfied = in.Version.CreatedAt
		return c
	}
	c.succeeded, c.latest = counts.succeeded, counts.latest
	c.rateOK = rateMet(c.succeeded, c.total, p.MinimumSuccessPercentage)
	soak := model.DurationOf(int64(max(p.MinimumSoakTimeMinutes, 0)), time.Minute)
	if !c.latest.IsZero() {
		c.soakEnd = c.latest.Add(soak)
		c.soakOK = !in.Now.Before(c.soakEnd)
		c.ageOK = withinAge(p, c.latest, in.Now)
		c.satisfied = c.soakEnd
	}
	c.waitReason = progressionWaitReason(in, p, c)
	return c
}

// progressionCounts is what every target of an environment shares about a
// dependency environment: how many of its targets succeeded with the
// version, and when the latest of them completed.
type progressionCounts struct {
	total     int
	succeeded int
	latest    time.Time
}

// countSuccesses counts the targets with a job of the version in a success
// status that completed; with verified, only jobs whose verification passed
// count (see verificationPassed).
func countSuccesses(in *Input, targets []*model.ReleaseTarget, successes []string, verified bool) progressionCounts {
	out := progressionCounts{total: len(targets)}
	versionOf := releaseVersionLookup(in.Reader)
	for _, t := range targets {
		var latest time.Time
		for _, j := range store.JobsByTarget.Get(in.Reader, t.Key()) {
			if j.CompletedAt.IsZero() || !slices.Contains(successes, j.Status) || versionOf(j.ReleaseID) != in.Version.ID {
				continue
			}
			if verified && !verificationPassed(in.Reader, j.ID) {
				continue
			}
			if j.CompletedAt.After(latest) {
				latest = j.CompletedAt
			}
		}
		if !latest.IsZero() {
			out.succeeded++
			if latest.After(out.latest) {
				out.latest = latest
			}
		}
	}
	return out
}

// verificationPassed reports whether a job was verified and every one of
// its verifications passed. Unlike history.Verified, a job that had no
// verification does not pass: requireVerificationPassed asks for evidence,
// and a job without any gives none.
func verificationPassed(r store.Reader, jobID string) bool {
	vs := store.VerificationsByJob.Get(r, jobID)
	for _, v := range vs {
		if v.Status != model.VerificationPassed {
			return false
		}
	}
	return len(vs) > 0
}

// rateMet reports whether succeeded of total reaches percent; 0 means at
// least one. Compared as succeeded·100 ≥ percent·total so that thresholds
// such as 66.67 are not at the mercy of a division's rounding.
func rateMet(succeeded, total int, percent float64) bool {
	if percent <= 0 {
		return succeeded >= 1
	}
	return float64(succeeded)*100 >= percent*float64(total)
}

// withinAge reports whether a success at latest is still young enough at t
// (no older than maximumAgeHours; 0 means no limit).
func withinAge(p *model.EnvironmentProgressionRule, latest, t time.Time) bool {
	if p.MaximumAgeHours <= 0 {
		return true
	}
	return t.Sub(latest) <= model.DurationOf(int64(p.MaximumAgeHours), time.Hour)
}

// releaseVersionLookup returns a memoised release id → version id lookup, so
// that a release shared by many jobs is read once; unknown releases map to "".
func releaseVersionLookup(r store.Reader) func(releaseID string) string {
	memo := map[string]string{}
	return func(id string) string {
		if v, ok := memo[id]; ok {
			return v
		}
		var v string
		if rel, err := store.Releases.Get(r, id); err == nil {
			v = rel.Version.ID
		}
		memo[id] = v
		return v
	}
}

// progressionWaitReason says why the environment does not pass yet, or ""
// when it does.
func progressionWaitReason(in *Input, p *model.EnvironmentProgressionRule, c *progressionCheck) string {
	version, env := nameOfVersion(in.Version), environmentName(c.env)
	switch {
	case !c.rateOK:
		need := "at least one"
		if p.MinimumSuccessPercentage > 0 {
			need = fmt.Sprintf("%g%%", p.MinimumSuccessPercentage)
		}
		what := "succeed"
		if p.RequireVerificationPassed {
			what = "succeed and pass verification"
		}
		return fmt.Sprintf("waiting for %s to %s in %s (%d of %d targets, need %s)",
			version, what, env, c.succeeded, c.total, need)
	case !c.ageOK:
		return fmt.Sprintf("latest success of %s in %s at %s is older than %dh",
			version, env, clockTime(c.latest, in.Now), p.MaximumAgeHours)
	case !c.soakOK:
		return fmt.Sprintf("soaking in %s until %s", env, clockTime(c.soakEnd, in.Now))
	}
	return ""
}

// progressionDetails lists each dependency environment's standing for the
// result's details.
func progressionDetails(checks []*progressionCheck) []map[string]any {
	out := make([]map[string]any, len(checks))
	for i, c := range checks {
		d := map[string]any{
			"environmentId": c.env.ID,
			"name":          c.env.Name,
			"succeeded":     c.succeeded,
			"total":         c.total,
			"passed":        c.passes(),
		}
		if !c.latest.IsZero() {
			d["latestSuccessAt"] = c.latest.UTC()
			d["soakEndsAt"] = c.soakEnd.UTC()
		}
		out[i] = d
	}
	return out
}
