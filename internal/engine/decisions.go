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
	ctx := context.Background()
	if len(ds) == 0 || !e.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// LogAttrs: a fan-out logs a line per target, and typed attributes
	// spare boxing each value.
	for _, d := range ds {
		e.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "release target decision", slog.String("workspace", ws.ID),
			slog.String("releaseTarget", d.target.Key()), slog.String("resourceId", d.target.ResourceID),
			slog.String("environmentId", d.target.EnvironmentID), slog.String("deploymentId", d.target.DeploymentID),
			slog.String("versionTag", d.versionTag), slog.String("releaseId", d.release),
			slog.String("previousReleaseId", d.previousRelease), slog.Any("jobIds", d.jobs))
	}
}
