package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	gogithub "github.com/google/go-github/v74/github"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

// Webhook deliveries from GitHub: the event name arrives in EventHeader,
// the body's signature in SignatureHeader.
const (
	EventHeader      = "X-GitHub-Event"
	SignatureHeader  = "X-Hub-Signature-256"
	EventWorkflowRun = "workflow_run"
	EventPing        = "ping"
)

// ErrSignature is returned (wrapped) when a delivery's signature is missing
// or does not match the secret.
var ErrSignature = errors.New("github webhook signature does not match")

// VerifySignature checks a delivery's X-Hub-Signature-256 header
// ("sha256=" and the hex HMAC-SHA256 of body under secret) in constant
// time. An empty secret verifies nothing and is an error: an endpoint that
// accepts unsigned deliveries would let anyone end jobs.
func VerifySignature(secret string, body []byte, header string) error {
	if secret == "" {
		return errors.New("github webhook: no secret configured")
	}
	if !strings.HasPrefix(header, "sha256=") {
		return fmt.Errorf("%w: %s must be sha256=<hex>", ErrSignature, SignatureHeader)
	}
	if err := gogithub.ValidateSignature(header, body, []byte(secret)); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return nil
}

// RunEvent is what a workflow_run delivery says about a run.
type RunEvent struct {
	// Action is GitHub's: requested, in_progress or completed.
	Action string
	// RunID is the run's id, the ExternalID of the job it runs.
	RunID int64
	// Repository is the run's repository, "owner/repo".
	Repository string
	// JobID is the job id found in the run's title (or name); empty when
	// the run names none (it was not started for a job, or its workflow
	// does not set run-name).
	JobID string
	// Update is the run mapped onto the job, as Follow would report it.
	Update agents.Update
}

// jobIDPattern finds a job id (a UUID) in a run title.
var jobIDPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// ParseWorkflowRun decodes the body of a workflow_run delivery (verify its
// signature first). A body without a workflow run is an error.
func ParseWorkflowRun(body []byte) (*RunEvent, error) {
	var ev gogithub.WorkflowRunEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("github workflow_run event: %w", err)
	}
	run := ev.GetWorkflowRun()
	if run == nil || run.GetID() == 0 {
		return nil, errors.New("github workflow_run event: no workflow_run in the body")
	}
	out := &RunEvent{Action: ev.GetAction(), RunID: run.GetID(), Update: RunUpdate(run)}
	if repo := ev.GetRepo(); repo != nil {
		out.Repository = repo.GetFullName()
	} else if repo := run.GetRepository(); repo != nil {
		out.Repository = repo.GetFullName()
	}
	if id := jobIDPattern.FindString(run.GetDisplayTitle()); id != "" {
		out.JobID = id
	} else {
		out.JobID = jobIDPattern.FindString(run.GetName())
	}
	return out, nil
}
