package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	gogithub "github.com/google/go-github/v74/github"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Follow reports the job's workflow run. Until the run is known (the job's
// ExternalID), it is looked for among the workflow's dispatched runs
// created since the dispatch, by the job id in its title; a run that has
// not appeared RunNotFoundAfter the dispatch ends the job as
// externalRunNotFound.
func (a *app) Follow(ctx context.Context, job agents.Job) (agents.Update, error) {
	cfg, err := readConfig(job.Config, agents.ScopeJob, true)
	if err != nil {
		return agents.Update{}, agents.Permanent("github-app config: %v", err)
	}
	c, err := a.client(cfg)
	if err != nil {
		return agents.Update{}, err
	}
	if job.ExternalID != "" {
		return a.followRun(ctx, c, cfg, job.ExternalID)
	}
	dispatched := job.DispatchedAt
	if dispatched.IsZero() {
		dispatched = job.CreatedAt
	}
	run, err := a.findRun(ctx, c, cfg, job.ID, dispatched.Add(-runLookback))
	if err != nil {
		return agents.Update{}, a.classify("list runs of "+cfg.workflowName(), err)
	}
	if run != nil {
		return RunUpdate(run), nil
	}
	if waited := a.now().Sub(dispatched); waited >= RunNotFoundAfter {
		return agents.Update{Status: model.JobExternalRunNotFound, Message: fmt.Sprintf(
			"no run of %s titled with job id %s appeared within %s of the dispatch; the workflow should set run-name: ${{ inputs.job_id }}",
			cfg.workflowName(), job.ID, RunNotFoundAfter)}, nil
	}
	return agents.Update{}, nil
}

func (a *app) followRun(ctx context.Context, c *gogithub.Client, cfg *config, externalID string) (agents.Update, error) {
	id, err := strconv.ParseInt(externalID, 10, 64)
	if err != nil {
		return agents.Update{}, agents.Permanent("github-app: the job's externalId %q is not a workflow run id", externalID)
	}
	run, _, err := c.Actions.GetWorkflowRunByID(ctx, cfg.owner, cfg.repo, id)
	var answer *gogithub.ErrorResponse
	if errors.As(err, &answer) && answer.Response != nil && answer.Response.StatusCode == http.StatusNotFound {
		return agents.Update{Status: model.JobExternalRunNotFound,
			Message: fmt.Sprintf("workflow run %d of %s/%s no longer exists", id, cfg.owner, cfg.repo)}, nil
	}
	if err != nil {
		return agents.Update{}, a.classify(fmt.Sprintf("get workflow run %d", id), err)
	}
	return RunUpdate(run), nil
}

// findRun returns the oldest dispatched run created since since whose title
// names the job, or nil. GitHub lists runs newest first.
func (a *app) findRun(ctx context.Context, c *gogithub.Client, cfg *config, jobID string, since time.Time) (*gogithub.WorkflowRun, error) {
	opts := &gogithub.ListWorkflowRunsOptions{
		Event:       "workflow_dispatch",
		Created:     ">=" + since.UTC().Format(time.RFC3339),
		ListOptions: gogithub.ListOptions{PerPage: 100},
	}
	var found *gogithub.WorkflowRun
	for range maxRunPages {
		var runs *gogithub.WorkflowRuns
		var resp *gogithub.Response
		var err error
		if id, ok := workflowID(cfg.workflow); ok {
			runs, resp, err = c.Actions.ListWorkflowRunsByID(ctx, cfg.owner, cfg.repo, id, opts)
		} else {
			runs, resp, err = c.Actions.ListWorkflowRunsByFileName(ctx, cfg.owner, cfg.repo, cfg.workflow, opts)
		}
		if err != nil {
			return nil, err
		}
		for _, r := range runs.WorkflowRuns {
			if names(r, jobID) {
				found = r
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return found, nil
}

func names(r *gogithub.WorkflowRun, jobID string) bool {
	return strings.Contains(r.GetDisplayTitle(), jobID) || strings.Contains(r.GetName(), jobID)
}

// RunUpdate maps a workflow run onto the job: any status but completed is
// inProgress; a completed run by its conclusion (success and neutral →
// successful; failure, timed_out and startup_failure → failure; cancelled
// and stale → cancelled; skipped → skipped; action_required →
// actionRequired). The run id becomes the job's ExternalID, its page the
// "run" link.
func RunUpdate(run *gogithub.WorkflowRun) agents.Update {
	u := agents.Update{ExternalID: strconv.FormatInt(run.GetID(), 10)}
	if link := run.GetHTMLURL(); link != "" {
		u.Links = map[string]string{"run": link}
	}
	title := fmt.Sprintf("workflow run %d", run.GetID())
	if run.GetStatus() != "completed" {
		u.Status = model.JobInProgress
		u.Message = title + " is " + strings.ReplaceAll(run.GetStatus(), "_", " ")
		return u
	}
	conclusion := run.GetConclusion()
	u.Message = title + " completed: " + strings.ReplaceAll(conclusion, "_", " ")
	switch conclusion {
	case "success", "neutral":
		u.Status = model.JobSuccessful
	case "cancelled", "stale":
		u.Status = model.JobCancelled
	case "skipped":
		u.Status = model.JobSkipped
	case "action_required":
		u.Status = model.JobActionRequired
	default: // failure, timed_out, startup_failure, and any new conclusion
		u.Status = model.JobFailure
	}
	return u
}
