// Package testrunner is the "test-runner" job agent type: it runs nothing.
// A dispatched job moves to inProgress at once and, once its delay has
// passed since it started, to the configured status. It exists to try
// policies, rollouts and verifications without a real deployment system.
//
// The delay is measured from the job's StartedAt, which is stored with the
// job, so a restart does not reset it.
package testrunner

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TypeName is the job agent type this package serves.
const TypeName = "test-runner"

// Options configure the type.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New returns the test-runner type.
func New(opts Options) *agents.Type {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	r := &runner{now: now}
	return &agents.Type{
		Name:     TypeName,
		Validate: func(m map[string]any, _ agents.Scope) error { _, err := readConfig(m); return err },
		Agent:    r,
		Follower: r,
		// Follow answers NextPoll with the exact time left; this only
		// paces a job whose start time is not known yet.
		FollowInterval: time.Second,
	}
}

type config struct {
	delay   time.Duration
	status  string
	message string
}

func readConfig(m map[string]any) (*config, error) {
	c := agents.Config(m)
	secs, err := c.Int("delaySeconds", 0)
	if err != nil {
		return nil, err
	}
	if secs < 0 {
		return nil, model.Invalid("delaySeconds", "must not be negative, got %d", secs)
	}
	if err := c.Strings("status", "message"); err != nil {
		return nil, err
	}
	status := c.String("status")
	if status == "" {
		status = model.JobSuccessful
	}
	if !agents.IsTerminalStatus(status) {
		return nil, model.Invalid("status", "must be a status a job ends in (successful, failure, cancelled, skipped, invalidJobAgent, invalidIntegration, externalRunNotFound), got %q", status)
	}
	return &config{delay: time.Duration(secs) * time.Second, status: status, message: c.String("message")}, nil
}

type runner struct{ now func() time.Time }

// Dispatch starts the job.
func (r *runner) Dispatch(_ context.Context, job agents.Job) (agents.Result, error) {
	if _, err := readConfig(job.Config); err != nil {
		return agents.Result{}, agents.Permanent("test-runner config: %v", err)
	}
	return agents.Result{Status: model.JobInProgress}, nil
}

// Follow ends the job once its delay has passed since it started, and
// otherwise asks to be called again when it will have.
func (r *runner) Follow(_ context.Context, job agents.Job) (agents.Update, error) {
	cfg, err := readConfig(job.Config)
	if err != nil {
		return agents.Update{}, agents.Permanent("test-runner config: %v", err)
	}
	now := r.now()
	// A job followed before its start was recorded has only just started.
	start := job.StartedAt
	if start.IsZero() {
		start = now
	}
	if left := start.Add(cfg.delay).Sub(now); left > 0 {
		return agents.Update{NextPoll: left}, nil
	}
	return agents.Update{Status: cfg.status, Message: cfg.message}, nil
}
