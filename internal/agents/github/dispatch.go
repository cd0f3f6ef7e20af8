package github

import (
	"context"
	"errors"
	"strconv"

	gogithub "github.com/google/go-github/v74/github"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

// InputJobID is the workflow_dispatch input that carries the job id.
const InputJobID = "job_id"

// Dispatch creates one workflow_dispatch event with the job id as input
// job_id. A job whose run is already known (its ExternalID) is not
// dispatched again: a second dispatch would start a second run.
func (a *app) Dispatch(ctx context.Context, job agents.Job) (agents.Result, error) {
	if job.ExternalID != "" {
		return agents.Result{ExternalID: job.ExternalID}, nil
	}
	cfg, err := readConfig(job.Config, agents.ScopeJob, true)
	if err != nil {
		return agents.Result{}, agents.Permanent("github-app config: %v", err)
	}
	c, err := a.client(cfg)
	if err != nil {
		return agents.Result{}, err
	}
	event := gogithub.CreateWorkflowDispatchEventRequest{Ref: cfg.ref, Inputs: map[string]any{InputJobID: job.ID}}
	if id, ok := workflowID(cfg.workflow); ok {
		_, err = c.Actions.CreateWorkflowDispatchEventByID(ctx, cfg.owner, cfg.repo, id, event)
	} else {
		_, err = c.Actions.CreateWorkflowDispatchEventByFileName(ctx, cfg.owner, cfg.repo, cfg.workflow, event)
	}
	var accepted *gogithub.AcceptedError
	if err != nil && !errors.As(err, &accepted) {
		return agents.Result{}, a.classify("dispatch "+cfg.workflowName(), err)
	}
	return agents.Result{Message: "dispatched " + cfg.workflowName() + " on " + cfg.ref + "; waiting for its run"}, nil
}

// workflowID tells a numeric workflow id from a workflow file name.
func workflowID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}
