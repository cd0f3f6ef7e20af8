// Package tfc is the "terraform-cloud" job agent: it ensures a job's
// workspace exists in HCP Terraform (Terraform Cloud) or Terraform
// Enterprise, sets the workspace's variables, starts a run and follows the
// run to an outcome.
//
// The run's message names the job id ("gatehouse job <id>"): a redelivered
// job finds its run by that message instead of starting another.
package tfc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	cleanhttp "github.com/hashicorp/go-cleanhttp"
	tfe "github.com/hashicorp/go-tfe"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TypeName is the job agent type this package serves.
const TypeName = "terraform-cloud"

// Defaults for Options and configs.
const (
	DefaultAddress        = tfe.DefaultAddress
	DefaultTimeout        = 30 * time.Second
	DefaultFollowInterval = 30 * time.Second
)

// Options tune the agent type.
type Options struct {
	// Timeout bounds each request to the Terraform API; DefaultTimeout
	// when zero.
	Timeout time.Duration
	// FollowInterval is how often a run is looked at;
	// DefaultFollowInterval when zero.
	FollowInterval time.Duration
	// PlanPollInterval is how often a plan's speculative run is read;
	// DefaultPlanPollInterval when zero.
	PlanPollInterval time.Duration
}

// New returns the "terraform-cloud" type. Its Agent and Follower are safe
// for concurrent use and share one pool of connections.
func New(opts Options) *agents.Type {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.FollowInterval <= 0 {
		opts.FollowInterval = DefaultFollowInterval
	}
	a := &agent{planPoll: opts.PlanPollInterval, http: &http.Client{
		Timeout:   opts.Timeout,
		Transport: answerTransport{base: cleanhttp.DefaultPooledTransport()},
	}}
	return &agents.Type{
		Name:           TypeName,
		Sensitive:      []string{"token"},
		Validate:       validate,
		Agent:          a,
		Follower:       a,
		Planner:        a,
		FollowInterval: opts.FollowInterval,
	}
}

type agent struct {
	http     *http.Client
	planPoll time.Duration
}

// client returns a go-tfe client for the config's address and token.
// Creating one asks the server for its API version and rate limit (GET
// /api/v2/ping), so it is the first request of every call.
func (a *agent) client(s settings) (*tfe.Client, error) {
	c, err := tfe.NewClient(&tfe.Config{Address: s.address, Token: s.token, HTTPClient: a.http})
	if err != nil {
		return nil, classify("connect to "+s.address, err)
	}
	return c, nil
}

// Dispatch ensures the workspace, finds the job's run or sets the
// variables and creates it, and answers the run id with a link to it.
func (a *agent) Dispatch(ctx context.Context, job agents.Job) (agents.Result, error) {
	s, err := readSettings(job.Config, agents.ScopeJob)
	if err != nil {
		return agents.Result{}, agents.Permanent("%v", err)
	}
	c, err := a.client(s)
	if err != nil {
		return agents.Result{}, err
	}
	ws, err := ensureWorkspace(ctx, c, s.organization, s.workspace)
	if err != nil {
		return agents.Result{}, err
	}
	run, found, err := findRun(ctx, c, ws.ID, job.ID)
	if err != nil {
		return agents.Result{}, err
	}
	if found {
		return agents.Result{ExternalID: run.ID, Links: s.links(run.ID),
			Message: fmt.Sprintf("run %s exists (%s)", run.ID, run.Status)}, nil
	}
	if err := setVariables(ctx, c, ws.ID, s.variables); err != nil {
		return agents.Result{}, err
	}
	run, err = c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: ws, Message: tfe.String(RunMessage(job.ID))})
	if err != nil {
		return agents.Result{}, classify("create run in workspace "+s.workspace, err)
	}
	return agents.Result{ExternalID: run.ID, Links: s.links(run.ID),
		Message: fmt.Sprintf("created run %s in workspace %s", run.ID, s.workspace)}, nil
}

// RunMessage is the message of the run started for a job; it is how a
// redelivered job finds its run.
func RunMessage(jobID string) string { return "gatehouse job " + jobID }

// Follow reads the run and maps its status: applied and
// planned_and_finished → successful, errored → failure, canceled,
// discarded and force_canceled → cancelled, anything else (queued,
// planning, waiting for confirmation) → inProgress. A run that is gone is
// externalRunNotFound.
func (a *agent) Follow(ctx context.Context, job agents.Job) (agents.Update, error) {
	s, err := readSettings(job.Config, agents.ScopeAgent)
	if err != nil {
		return agents.Update{}, agents.Permanent("%v", err)
	}
	if job.ExternalID == "" {
		return agents.Update{Status: model.JobExternalRunNotFound, Message: "no Terraform run recorded for this job"}, nil
	}
	c, err := a.client(s)
	if err != nil {
		return agents.Update{}, err
	}
	run, err := c.Runs.Read(ctx, job.ExternalID)
	switch {
	case notFound(err):
		return agents.Update{Status: model.JobExternalRunNotFound,
			Message: "run " + job.ExternalID + " not found: " + agents.Classify(err).Message}, nil
	case err != nil:
		return agents.Update{}, classify("read run "+job.ExternalID, err)
	}
	return agents.Update{Status: runStatus(run.Status), Message: fmt.Sprintf("run %s %s", run.ID, run.Status),
		Links: s.links(run.ID)}, nil
}

// runForceCanceled is a final run state the API documents and go-tfe does
// not name.
const runForceCanceled tfe.RunStatus = "force_canceled"

func runStatus(s tfe.RunStatus) string {
	switch s {
	case tfe.RunApplied, tfe.RunPlannedAndFinished:
		return model.JobSuccessful
	case tfe.RunErrored:
		return model.JobFailure
	case tfe.RunCanceled, tfe.RunDiscarded, runForceCanceled:
		return model.JobCancelled
	}
	return model.JobInProgress
}

// links names the run's page in the Terraform UI; empty when the config
// does not say which workspace (a follow with an agent-only config).
func (s settings) links(runID string) map[string]string {
	if s.organization == "" || s.workspace == "" {
		return nil
	}
	return map[string]string{"run": fmt.Sprintf("%s/app/%s/workspaces/%s/runs/%s", strings.TrimRight(s.address, "/"),
		url.PathEscape(s.organization), url.PathEscape(s.workspace), url.PathEscape(runID))}
}
