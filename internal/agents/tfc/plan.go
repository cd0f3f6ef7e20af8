package tfc

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

// DefaultPlanPollInterval is how often a plan reads its speculative run
// while Terraform plans.
const DefaultPlanPollInterval = 2 * time.Second

// sensitivePlaceholder starts what a plan renders for a sensitive
// variable (see engine's plan rendering): not a value to plan with.
const sensitivePlaceholder = "(sensitive "

// Plan asks Terraform Cloud: a speculative (plan-only) run in the job's
// workspace, with the job's Terraform variables as run variables, so that
// nothing of the workspace changes and the run can never be applied. The
// plan compares the run's resource counts and the variables with the
// workspace as it stands (nothing to change) and the current job's
// variables. It needs the agent's token opened; without it the rendered
// config is shown, marked unsupported.
func (a *agent) Plan(ctx context.Context, in agents.PlanInput) (agents.PlanOutput, error) {
	token := in.Credentials["token"]
	if token == "" {
		return agents.PlanOutput{}, fmt.Errorf("%w: the agent's token could not be opened (no encryption key), "+
			"so no speculative run can be made; the rendered config is shown", agents.ErrPlanUnsupported)
	}
	cfg := maps.Clone(in.Proposed)
	cfg["token"] = token
	s, err := readSettings(cfg, agents.ScopeJob)
	if err != nil {
		return agents.PlanOutput{}, err
	}
	proposedVars, skipped := runVariables(s.variables)
	var currentVars []*tfe.RunVariable
	if in.Current != nil {
		if vars, err := readVariables(in.Current["variables"]); err == nil {
			currentVars, _ = runVariables(vars)
		}
	}
	out := agents.PlanOutput{Current: planDocument(currentVars, nil)}
	if in.Current == nil {
		out.Current = ""
	}
	c, err := a.client(s)
	if err != nil {
		return agents.PlanOutput{}, err
	}
	ws, err := c.Workspaces.Read(ctx, s.organization, s.workspace)
	if notFound(err) {
		out.Proposed = planDocument(proposedVars, nil)
		out.Message = "workspace " + s.workspace + " does not exist yet: the first job creates it, so there is no run to plan"
		return out, nil
	}
	if err != nil {
		return agents.PlanOutput{}, classify("read workspace "+s.workspace, err)
	}
	run, err := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: ws, PlanOnly: tfe.Bool(true),
		Message: tfe.String("gatehouse plan (speculative)"), Variables: proposedVars})
	if err != nil {
		return agents.PlanOutput{}, classify("create a speculative run in workspace "+s.workspace, err)
	}
	run, err = a.awaitPlan(ctx, c, run)
	if err != nil {
		return agents.PlanOutput{}, err
	}
	if run.Status != tfe.RunPlannedAndFinished || run.Plan == nil {
		return agents.PlanOutput{}, fmt.Errorf("speculative run %s ended %s", run.ID, run.Status)
	}
	plan, err := c.Plans.Read(ctx, run.Plan.ID)
	if err != nil {
		return agents.PlanOutput{}, classify("read plan "+run.Plan.ID, err)
	}
	out.Proposed = planDocument(proposedVars, plan)
	out.Message = fmt.Sprintf("speculative run %s: %d to add, %d to change, %d to destroy", run.ID,
		plan.ResourceAdditions, plan.ResourceChanges, plan.ResourceDestructions)
	if link := s.links(run.ID)["run"]; link != "" {
		out.Message += " (" + link + ")"
	}
	if len(skipped) > 0 {
		out.Message += "; not sent to the run: " + strings.Join(skipped, ", ")
	}
	return out, nil
}

// awaitPlan reads run until Terraform is done with it or ctx ends.
func (a *agent) awaitPlan(ctx context.Context, c *tfe.Client, run *tfe.Run) (*tfe.Run, error) {
	interval := a.planPoll
	if interval <= 0 {
		interval = DefaultPlanPollInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !planDone(run.Status) {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("speculative run %s still %s: %w", run.ID, run.Status, context.Cause(ctx))
		case <-tick.C:
		}
		next, err := c.Runs.Read(ctx, run.ID)
		if err != nil {
			return nil, classify("read speculative run "+run.ID, err)
		}
		run = next
	}
	return run, nil
}

// planDone reports whether a plan-only run has gone as far as it goes.
func planDone(s tfe.RunStatus) bool {
	switch s {
	case tfe.RunPlannedAndFinished, tfe.RunErrored, tfe.RunCanceled, tfe.RunDiscarded, runForceCanceled:
		return true
	}
	return false
}

// runVariables turns a job's Terraform variables into run variables
// (values as HCL), sorted by key. Environment variables cannot be given
// to a run, and a value rendered from a sensitive variable is a
// placeholder, not the value: both are left out and named.
func runVariables(vars []variable) (out []*tfe.RunVariable, skipped []string) {
	for _, v := range vars {
		switch {
		case v.category != tfe.CategoryTerraform:
			skipped = append(skipped, v.key+" (environment variable)")
		case strings.Contains(v.value, sensitivePlaceholder):
			skipped = append(skipped, v.key+" (sensitive)")
		default:
			value := v.value
			if !v.hcl {
				value = strings.ReplaceAll(strconv.Quote(value), "${", "$${")
			}
			out = append(out, &tfe.RunVariable{Key: v.key, Value: value})
		}
	}
	slices.SortFunc(out, func(a, b *tfe.RunVariable) int { return strings.Compare(a.Key, b.Key) })
	slices.Sort(skipped)
	return out, skipped
}

// planDocument is the text a plan compares: the run variables, then what
// Terraform would do (nothing, for the workspace as it stands).
func planDocument(vars []*tfe.RunVariable, plan *tfe.Plan) string {
	var b strings.Builder
	b.WriteString("variables:\n")
	for _, v := range vars {
		fmt.Fprintf(&b, "  %s = %s\n", v.Key, v.Value)
	}
	add, change, destroy := 0, 0, 0
	if plan != nil {
		add, change, destroy = plan.ResourceAdditions, plan.ResourceChanges, plan.ResourceDestructions
	}
	fmt.Fprintf(&b, "plan: %d to add, %d to change, %d to destroy\n", add, change, destroy)
	return b.String()
}
