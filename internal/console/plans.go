package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Plans are made over the API (`gatehouse plan`); the console shows the
// ones still kept, so that whoever reviews a version before creating it can
// read what it would change without a terminal.

// planRow is one kept plan of a deployment, as the versions screen lists it.
type planRow struct {
	Plan *model.DeploymentPlan
	URL  string
}

// keptPlans returns the deployment's plans not yet expired at now, newest
// first.
func keptPlans(snap store.Reader, ws, deploymentID string, now time.Time) []planRow {
	var plans []*model.DeploymentPlan
	for _, p := range store.PlansByDeployment.Get(snap, deploymentID) {
		if now.Before(p.ExpiresAt) {
			plans = append(plans, p)
		}
	}
	slices.SortFunc(plans, func(a, b *model.DeploymentPlan) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	rows := make([]planRow, len(plans))
	for i, p := range plans {
		rows[i] = planRow{Plan: p, URL: planURL(ws, p)}
	}
	return rows
}

// planURL is the path of a plan's page.
func planURL(ws string, p *model.DeploymentPlan) string {
	return workspaceURL(ws, "deployments/"+url.PathEscape(p.DeploymentID)+"/plans/"+url.PathEscape(p.ID))
}

// planBody is the plan screen.
type planBody struct {
	Workspace  string
	Deployment string
	Plan       *model.DeploymentPlan
	Targets    []plannedTarget
}

// plannedTarget is one target of a plan with the version it runs now.
type plannedTarget struct {
	Target *model.PlanTarget
	// Runs is the tag of the target's current version; empty when it runs
	// nothing.
	Runs string
}

func (c *Console) planPage(r *http.Request, p *page) error {
	snap, done, err := c.read(p.Workspace)
	defer done()
	if err != nil {
		return err
	}
	plan, err := c.engine.DeploymentPlan(snap, r.PathValue("deployment"), r.PathValue("plan"))
	if err != nil {
		return err
	}
	body := &planBody{Workspace: p.Workspace, Deployment: deploymentName(snap, plan.DeploymentID), Plan: plan}
	for i := range plan.Targets {
		t := &plan.Targets[i]
		pt := plannedTarget{Target: t}
		if t.CurrentRelease != nil {
			pt.Runs = versionName(t.CurrentRelease.Version)
		}
		body.Targets = append(body.Targets, pt)
	}
	p.Title, p.Nav, p.template, p.Body = "Plan of "+body.Deployment+" at "+plan.Version.Tag, "versions", "plan", body
	return nil
}
