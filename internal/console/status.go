package console

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Target states, most pressing first: a grid cell takes the most pressing
// state of its targets.
const (
	stateFailed    = "failed"    // the latest job failed
	stateBlocked   = "blocked"   // the next version is denied: only a change to the workspace helps
	stateWaiting   = "waiting"   // the next version waits for an approval, a time, another environment
	stateDeploying = "deploying" // a job is under way
	stateDeployed  = "deployed"  // the newest version is deployed
	stateEmpty     = "empty"     // nothing to deploy, or no targets
)

var stateRank = map[string]int{stateFailed: 0, stateBlocked: 1, stateWaiting: 2, stateDeploying: 3, stateDeployed: 4, stateEmpty: 5}

// moreUrgent reports whether state a is more pressing than b.
func moreUrgent(a, b string) bool { return stateRank[a] < stateRank[b] }

// targetStatus is how one release target stands, in a person's words.
type targetStatus struct {
	Target *model.ReleaseTarget
	// Resource names the target's resource.
	Resource string
	URL      string
	Current  *model.Release
	Desired  *model.Release
	Latest   *model.Job
	// Reason is the engine's own word on why the target gets no new job.
	Reason         string
	NextEvaluation time.Time
	State          string
	// Next is the version the state is about: the newest version that may
	// still come (not rejected, failed or paused), when it is not deployed.
	Next *model.DeploymentVersion
	// Why says in a few words why Next is not deployed yet, or what the
	// target is doing.
	Why string
	// Evaluation is Next's evaluation, when it was judged.
	Evaluation *engine.Evaluation
	// WaitingOn are the rule kinds holding back a newer version, as the
	// engine recorded them.
	WaitingOn []string
}

// judge works out how target t stands; versions are its deployment's,
// newest first. With a nil evaluator no rule is evaluated: a target whose
// next version is not deployed is then told apart by the rule kinds the
// engine recorded as holding it back.
func judge(r store.Reader, ev *engine.Evaluator, now time.Time, ws string, t *model.ReleaseTarget,
	versions []*model.DeploymentVersion) (targetStatus, error) {
	key := t.Key()
	s := targetStatus{Target: t, Resource: resourceName(r, t.ResourceID), URL: targetURL(ws, t),
		Current: history.CurrentRelease(r, key), Latest: history.LatestJob(r, key)}
	if st, err := store.TargetStates.Get(r, key); err == nil {
		s.Reason, s.NextEvaluation, s.WaitingOn = st.Reason, st.NextEvaluation, st.WaitingOn
		if rel, err := store.Releases.Get(r, st.DesiredReleaseID); err == nil {
			s.Desired = rel
		}
	}
	s.Next = nextVersion(versions)
	switch {
	case s.Latest != nil && model.IsProcessingJobStatus(s.Latest.Status):
		s.State, s.Why = stateDeploying, fmt.Sprintf("%s: job %s", jobVersionTag(r, s.Latest), s.Latest.Status)
	case s.Latest != nil && failedJob(s.Latest.Status):
		s.State, s.Why = stateFailed, fmt.Sprintf("%s: job %s", jobVersionTag(r, s.Latest), s.Latest.Status)
		if s.Latest.Message != "" {
			s.Why += ": " + s.Latest.Message
		}
	case s.Next == nil && len(versions) == 0:
		s.State, s.Why = stateEmpty, "no versions"
	case s.Next == nil && s.Current == nil:
		s.State, s.Why = stateBlocked, "no version may deploy"
	case s.Next == nil || (s.Current != nil && s.Current.Version.ID == s.Next.ID):
		s.State = stateDeployed
	case ev == nil && len(s.WaitingOn) > 0:
		s.State, s.Why = stateWaiting, "waiting on "+strings.Join(s.WaitingOn, ", ")
	case ev == nil:
		s.State, s.Why = stateWaiting, "not deployed yet"
	default:
		return s, s.evaluate(ev, now)
	}
	return s, nil
}

// evaluate judges the target's next version and says why it does not
// deploy.
func (s *targetStatus) evaluate(ev *engine.Evaluator, now time.Time) error {
	e, err := ev.Evaluate(s.Target, s.Next)
	if err != nil {
		return fmt.Errorf("evaluate %s on %s: %w", s.Next.ID, s.Target.Key(), err)
	}
	s.Evaluation = e
	switch {
	case !e.Allowed:
		s.State, s.Why = stateBlocked, shortEvaluation(e, now)
		if waits(e) {
			s.State = stateWaiting
		}
	case s.Reason != "":
		// The version may deploy but gets no job: retries used up, no agent.
		s.State, s.Why = stateBlocked, s.Reason
	default:
		s.State, s.Why = stateWaiting, "about to deploy"
	}
	return nil
}

// nextVersion returns the newest version that may still be deployed:
// rejected, failed and paused versions never become the next one.
func nextVersion(versions []*model.DeploymentVersion) *model.DeploymentVersion {
	for _, v := range versions {
		switch v.Status {
		case model.VersionRejected, model.VersionFailed, model.VersionPaused:
			continue
		}
		return v
	}
	return nil
}

// failedJob reports whether a job in status s failed (cancelled and
// skipped jobs did not).
func failedJob(s string) bool {
	switch s {
	case model.JobFailure, model.JobInvalidJobAgent, model.JobInvalidIntegration, model.JobExternalRunNotFound:
		return true
	}
	return false
}

// waits reports whether an evaluation that does not allow its version
// only waits: for an action, a time, or a build to finish.
func waits(e *engine.Evaluation) bool {
	if e.Version.Status == model.VersionBuilding {
		return true
	}
	failing := false
	for _, pe := range e.Policies {
		for _, res := range pe.Results {
			if !res.Allowed {
				failing = true
				if !res.ActionRequired {
					return false
				}
			}
		}
	}
	return failing
}

// jobVersionTag names the version a job deploys.
func jobVersionTag(r store.Reader, j *model.Job) string {
	if rel, err := store.Releases.Get(r, j.ReleaseID); err == nil {
		return versionName(rel.Version)
	}
	return "job"
}

func versionName(v *model.DeploymentVersion) string { return nameOr(v.Tag, nameOr(v.Name, v.ID)) }

func resourceName(r store.Reader, id string) string {
	if res, err := store.Resources.Get(r, id); err == nil {
		return nameOr(res.Name, nameOr(res.Identifier, id))
	}
	return id
}

func environmentName(r store.Reader, id string) string {
	if e, err := store.Environments.Get(r, id); err == nil {
		return nameOr(e.Name, id)
	}
	return id
}

func deploymentName(r store.Reader, id string) string {
	if d, err := store.Deployments.Get(r, id); err == nil {
		return nameOr(d.Name, nameOr(d.Slug, id))
	}
	return id
}

func agentName(r store.Reader, id string) string {
	if a, err := store.JobAgents.Get(r, id); err == nil {
		return nameOr(a.Name, id)
	}
	return nameOr(id, "none")
}
