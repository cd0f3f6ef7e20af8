// Package kubernetes is the "kubernetes" job agent: it creates a job's
// rendered batch/v1 Job in a cluster through the API server and follows the
// Job's conditions to an outcome.
//
// The Job's name is made from the job id, so a redelivered job (the
// dispatcher delivers at least once) meets its own Job (409 AlreadyExists)
// instead of starting a second one.
package kubernetes

import (
	"context"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	batchclient "k8s.io/client-go/kubernetes/typed/batch/v1"
	"k8s.io/client-go/rest"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TypeName is the job agent type this package serves.
const TypeName = "kubernetes"

// Defaults for Options.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultFollowInterval = 15 * time.Second
)

// Options tune the agent type.
type Options struct {
	// Timeout bounds each request to the API server; DefaultTimeout when
	// zero.
	Timeout time.Duration
	// FollowInterval is how often a dispatched Job is looked at;
	// DefaultFollowInterval when zero.
	FollowInterval time.Duration
}

// New returns the "kubernetes" type. Its Agent and Follower are safe for
// concurrent use; they keep nothing between calls but client-go's shared
// transport cache.
func New(opts Options) *agents.Type {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.FollowInterval <= 0 {
		opts.FollowInterval = DefaultFollowInterval
	}
	a := &agent{timeout: opts.Timeout}
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
	timeout time.Duration
}

// Dispatch creates the Job. A Job of that name already being there is a
// redelivery of the same job and counts as handed over.
func (a *agent) Dispatch(ctx context.Context, job agents.Job) (agents.Result, error) {
	s, err := readSettings(job.Config, agents.ScopeJob)
	if err != nil {
		return agents.Result{}, agents.Permanent("%v", err)
	}
	manifest, err := buildJob(agents.Config(job.Config), job.ID, s.namespace)
	if err != nil {
		return agents.Result{}, agents.Permanent("%v", err)
	}
	client, err := a.client(s)
	if err != nil {
		return agents.Result{}, err
	}
	ref := s.namespace + "/" + manifest.Name
	// MaxRetries(0): client-go would otherwise wait out Retry-After and try
	// again inside this attempt; backoff belongs to the dispatcher.
	err = client.Post().Namespace(s.namespace).Resource("jobs").
		Body(manifest).MaxRetries(0).Do(ctx).Into(&batchv1.Job{})
	switch {
	case isReason(err, "AlreadyExists"):
		return agents.Result{ExternalID: ref, Message: "Kubernetes Job " + ref + " already exists"}, nil
	case err != nil:
		return agents.Result{}, classify("create Kubernetes Job "+ref, err)
	}
	return agents.Result{ExternalID: ref, Message: "created Kubernetes Job " + ref}, nil
}

// client returns a REST client for the batch/v1 group of the configured
// cluster. client-go caches transports by TLS settings, so building one per
// call does not leak connections.
func (a *agent) client(s settings) (rest.Interface, error) {
	cfg := &rest.Config{
		Host:        s.server,
		BearerToken: s.token,
		Timeout:     a.timeout,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   s.caData,
			Insecure: s.insecure,
		},
	}
	c, err := batchclient.NewForConfig(cfg)
	if err != nil {
		return nil, agents.Permanent("kubernetes client: %v", err)
	}
	return c.RESTClient(), nil
}

// buildJob decodes the manifest and makes it this job's: the name from the
// job id, the configured namespace, the job id label on the Job and its
// pods. Errors are EINVALID and name the manifest field.
func buildJob(c agents.Config, jobID, namespace string) (*batchv1.Job, error) {
	var j batchv1.Job
	if err := c.Manifest("manifest", &j); err != nil {
		return nil, err
	}
	if j.APIVersion != "" && j.APIVersion != "batch/v1" {
		return nil, model.Invalid("manifest.apiVersion", "must be batch/v1, got %q", j.APIVersion)
	}
	if j.Kind != "" && j.Kind != "Job" {
		return nil, model.Invalid("manifest.kind", "must be Job, got %q", j.Kind)
	}
	j.APIVersion, j.Kind = "batch/v1", "Job"
	prefix := j.GenerateName
	if prefix == "" && j.Name != "" {
		prefix = j.Name + "-"
	}
	if prefix == "" {
		prefix = "gatehouse-"
	}
	j.Name, j.GenerateName = agents.ResourceName(prefix, jobID), ""
	j.Namespace = namespace
	// A manifest copied from a live object carries these, and the API server
	// refuses a create that sets them.
	j.ResourceVersion, j.UID = "", ""
	j.Status = batchv1.JobStatus{}
	j.Labels = withLabel(j.Labels, agents.JobIDLabel, agents.LabelValue(jobID))
	j.Spec.Template.Labels = withLabel(j.Spec.Template.Labels, agents.JobIDLabel, agents.LabelValue(jobID))
	return &j, nil
}

func withLabel(labels map[string]string, key, value string) map[string]string {
	if labels == nil {
		labels = map[string]string{}
	}
	labels[key] = value
	return labels
}
