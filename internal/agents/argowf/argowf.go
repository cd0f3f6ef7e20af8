// Package argowf is the "argo-workflows" job agent: it submits a job's
// rendered Workflow through the Argo Server's REST API and follows the
// Workflow's phase to an outcome.
//
// The Workflow is named from the job id and labelled with it: a redelivered
// job finds its Workflow by the label (or meets it as 409 AlreadyExists)
// instead of submitting a second one.
package argowf

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TypeName is the job agent type this package serves.
const TypeName = "argo-workflows"

// Defaults for Options.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultFollowInterval = 15 * time.Second
)

// Options tune the agent type.
type Options struct {
	// Timeout bounds each request to the Argo Server; DefaultTimeout when
	// zero.
	Timeout time.Duration
	// FollowInterval is how often a Workflow is looked at;
	// DefaultFollowInterval when zero.
	FollowInterval time.Duration
}

// New returns the "argo-workflows" type. Its Agent and Follower are safe
// for concurrent use; connections are pooled per TLS setting.
func New(opts Options) *agents.Type {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.FollowInterval <= 0 {
		opts.FollowInterval = DefaultFollowInterval
	}
	a := &agent{clients: newClientPool(opts.Timeout)}
	return &agents.Type{
		Name:           TypeName,
		Sensitive:      []string{"token"},
		Validate:       validate,
		Agent:          a,
		Follower:       a,
		FollowInterval: opts.FollowInterval,
	}
}

type agent struct {
	clients *clientPool
}

// Dispatch finds the job's Workflow by its label or submits it.
func (a *agent) Dispatch(ctx context.Context, job agents.Job) (agents.Result, error) {
	s, err := readSettings(job.Config, agents.ScopeJob)
	if err != nil {
		return agents.Result{}, agents.Permanent("%v", err)
	}
	wf, err := buildWorkflow(agents.Config(job.Config), job.ID, s.namespace)
	if err != nil {
		return agents.Result{}, agents.Permanent("%v", err)
	}
	c, err := a.clients.get(s)
	if err != nil {
		return agents.Result{}, err
	}
	name := wf.name()
	existing, err := c.findByJob(ctx, s.namespace, job.ID)
	if err != nil {
		return agents.Result{}, err
	}
	if existing != "" {
		return s.result(existing, "Workflow "+s.namespace+"/"+existing+" exists"), nil
	}
	var created workflow
	err = c.do(ctx, http.MethodPost, "/api/v1/workflows/"+url.PathEscape(s.namespace), nil,
		createRequest{Namespace: s.namespace, Workflow: wf}, &created)
	switch {
	case statusOf(err) == http.StatusConflict:
		return s.result(name, "Workflow "+s.namespace+"/"+name+" exists"), nil
	case err != nil:
		return agents.Result{}, agents.Wrap("submit Workflow "+s.namespace+"/"+name, err)
	}
	return s.result(created.Metadata.Name, "submitted Workflow "+s.namespace+"/"+created.Metadata.Name), nil
}

func (s settings) result(name, message string) agents.Result {
	return agents.Result{ExternalID: s.namespace + "/" + name, Message: message, Links: s.links(s.namespace, name)}
}

// links names the Workflow's page in the Argo UI.
func (s settings) links(namespace, name string) map[string]string {
	return map[string]string{"workflow": strings.TrimRight(s.serverURL, "/") + "/workflows/" +
		url.PathEscape(namespace) + "/" + url.PathEscape(name)}
}

// Follow reads the Workflow named by the job's external id
// ("namespace/name") and maps its phase: Succeeded → successful, Failed and
// Error → failure with the Workflow's message, Pending and Running →
// inProgress, no phase yet → no status. A Workflow that is gone is
// externalRunNotFound.
func (a *agent) Follow(ctx context.Context, job agents.Job) (agents.Update, error) {
	s, err := readSettings(job.Config, agents.ScopeAgent)
	if err != nil {
		return agents.Update{}, agents.Permanent("%v", err)
	}
	ns, name, ok := strings.Cut(job.ExternalID, "/")
	if !ok || ns == "" || name == "" {
		return agents.Update{Status: model.JobExternalRunNotFound,
			Message: fmt.Sprintf("no Workflow recorded (external id %q)", job.ExternalID)}, nil
	}
	c, err := a.clients.get(s)
	if err != nil {
		return agents.Update{}, err
	}
	var wf workflow
	err = c.do(ctx, http.MethodGet, "/api/v1/workflows/"+url.PathEscape(ns)+"/"+url.PathEscape(name), nil, nil, &wf)
	switch {
	case statusOf(err) == http.StatusNotFound:
		return agents.Update{Status: model.JobExternalRunNotFound,
			Message: "Workflow " + job.ExternalID + " not found: " + agents.Classify(err).Message}, nil
	case err != nil:
		return agents.Update{}, agents.Wrap("read Workflow "+job.ExternalID, err)
	}
	up := agents.Update{Status: phaseStatus(wf.Status.Phase), Message: wf.Status.Message, Links: s.links(ns, name)}
	if up.Message == "" && wf.Status.Phase != "" {
		up.Message = "Workflow " + wf.Status.Phase
	}
	return up, nil
}

func phaseStatus(phase string) string {
	switch phase {
	case "Succeeded":
		return model.JobSuccessful
	case "Failed", "Error":
		return model.JobFailure
	case "Pending", "Running":
		return model.JobInProgress
	}
	return ""
}
