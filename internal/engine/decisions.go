package engine

import (
	"context"
	"log/slog"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// decision is what one evaluation changed for a target: its desired
// release, or the jobs it created. Decisions are logged once their unit of
// work commits, so that a rolled-back event logs none.
type decision struct {
	target                   *model.ReleaseTarget
	previousRelease, release string
	versionTag               string
	jobs                     []string
}

// decided records the plan's decision when it changes the target's desired
// release (from what prev, the target's state before, says) or creates
// jobs; applyPlan adds the created jobs' ids to the record it returns. A
// restore rebuilds every target's state from nothing, so only its jobs
// are decisions.
func (u *unit) decided(plan *Plan, prev *model.TargetState) *decision {
	d := &decision{target: plan.Target, jobs: []string{}}
	if prev != nil {
		d.previousRelease = prev.DesiredReleaseID
	}
	if plan.Desired != nil {
		d.release, d.versionTag = plan.Desired.release.ID, plan.Desired.release.Version.Tag
	}
	if (d.release != d.previousRelease && !u.restoring) || len(plan.Jobs) > 0 {
		u.decisions = append(u.decisions, d)
	}
	return d
}

// logDecisions writes one INFO line per committed decision.
func (e *Engine) logDecisions(ws *Workspace, ds []*decision) {
	if len(ds) == 0 || !e.cfg.Logger.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	for _, d := range ds {
		e.cfg.Logger.Info("release target decision", "workspace", ws.ID, "releaseTarget", d.target.Key(),
			"resourceId", d.target.ResourceID, "environmentId", d.target.EnvironmentID, "deploymentId", d.target.DeploymentID,
			"versionTag", d.versionTag, "releaseId", d.release, "previousReleaseId", d.previousRelease, "jobIds", d.jobs)
	}
}
