package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Follow reads the Job named by the job's external id ("namespace/name")
// and maps its conditions: Complete → successful, Failed → failure with the
// condition's reason and message, started → inProgress, not started yet →
// no status. A Job that is gone is externalRunNotFound.
func (a *agent) Follow(ctx context.Context, job agents.Job) (agents.Update, error) {
	s, err := readSettings(job.Config, agents.ScopeAgent)
	if err != nil {
		return agents.Update{}, agents.Permanent("%v", err)
	}
	ns, name, ok := strings.Cut(job.ExternalID, "/")
	if !ok || ns == "" || name == "" {
		return agents.Update{Status: model.JobExternalRunNotFound,
			Message: fmt.Sprintf("no Kubernetes Job recorded (external id %q)", job.ExternalID)}, nil
	}
	client, err := a.client(s)
	if err != nil {
		return agents.Update{}, err
	}
	var got batchv1.Job
	err = client.Get().Namespace(ns).Resource("jobs").Name(name).MaxRetries(0).Do(ctx).Into(&got)
	switch {
	case apierrors.IsNotFound(err):
		return agents.Update{Status: model.JobExternalRunNotFound,
			Message: "Kubernetes Job " + job.ExternalID + " not found: " + err.Error()}, nil
	case err != nil:
		return agents.Update{}, classify("read Kubernetes Job "+job.ExternalID, err)
	}
	return jobUpdate(&got), nil
}

func jobUpdate(j *batchv1.Job) agents.Update {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return agents.Update{Status: model.JobSuccessful, Message: conditionMessage("Job complete", c)}
		case batchv1.JobFailed:
			return agents.Update{Status: model.JobFailure, Message: conditionMessage("Job failed", c)}
		}
	}
	if j.Status.Active > 0 || j.Status.StartTime != nil {
		return agents.Update{Status: model.JobInProgress,
			Message: fmt.Sprintf("%d active, %d succeeded, %d failed", j.Status.Active, j.Status.Succeeded, j.Status.Failed)}
	}
	return agents.Update{}
}

func conditionMessage(what string, c batchv1.JobCondition) string {
	parts := []string{what}
	if c.Reason != "" {
		parts = append(parts, c.Reason)
	}
	if c.Message != "" {
		parts = append(parts, c.Message)
	}
	return strings.Join(parts, ": ")
}

// classify turns a client-go error into an agents error: an answer of the
// API server by its status code (its Status object carries a suggested
// delay for 429 and 5xx), anything else (no answer) retryable.
func classify(what string, err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code != 0 {
		s := status.Status()
		retryAfter := ""
		if s.Details != nil && s.Details.RetryAfterSeconds > 0 {
			retryAfter = strconv.Itoa(int(s.Details.RetryAfterSeconds))
		}
		return agents.StatusError(int(s.Code), retryAfter,
			fmt.Sprintf("%s: kubernetes answered %d %s: %s", what, s.Code, s.Reason, s.Message))
	}
	return agents.Wrap(what, err)
}

func isReason(err error, reason string) bool {
	return err != nil && string(apierrors.ReasonForError(err)) == reason
}
