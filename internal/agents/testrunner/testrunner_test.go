package testrunner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/testrunner"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// clock is a settable fake clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestTestRunner_DispatchAndFollow(t *testing.T) {
	start := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	typ := testrunner.New(testrunner.Options{Now: clk.now})
	job := agents.Job{ID: "j1", Config: map[string]any{"delaySeconds": 90.0, "status": "failure", "message": "simulated failure"}}

	res, err := typ.Agent.Dispatch(context.Background(), job)
	if err != nil || res.Status != model.JobInProgress {
		t.Fatalf("dispatch = %+v, %v; want inProgress", res, err)
	}

	job.Status, job.StartedAt = model.JobInProgress, start
	for _, step := range []struct {
		at       time.Duration
		status   string
		nextPoll time.Duration
	}{
		{0, "", 90 * time.Second},
		{89*time.Second + 500*time.Millisecond, "", 500 * time.Millisecond},
		{90 * time.Second, model.JobFailure, 0},
		{time.Hour, model.JobFailure, 0},
	} {
		clk.t = start.Add(step.at)
		u, err := typ.Follower.Follow(context.Background(), job)
		if err != nil {
			t.Fatalf("follow at +%s: %v", step.at, err)
		}
		if u.Status != step.status || u.NextPoll != step.nextPoll {
			t.Errorf("follow at +%s = %+v, want status %q, next poll %s", step.at, u, step.status, step.nextPoll)
		}
		if u.Status != "" && u.Message != "simulated failure" {
			t.Errorf("message = %q, want the configured one", u.Message)
		}
	}
}

func TestTestRunner_Defaults(t *testing.T) {
	clk := &clock{t: time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)}
	typ := testrunner.New(testrunner.Options{Now: clk.now})
	// Not started yet as far as the job says: no delay, so it ends now.
	u, err := typ.Follower.Follow(context.Background(), agents.Job{ID: "j2", Config: map[string]any{}})
	if err != nil || u.Status != model.JobSuccessful || u.Message != "" {
		t.Fatalf("follow = %+v, %v; want successful at once", u, err)
	}
}

func TestTestRunner_Validate(t *testing.T) {
	typ := testrunner.New(testrunner.Options{})
	for _, tc := range []struct {
		name   string
		config map[string]any
		field  string
	}{
		{"empty", map[string]any{}, ""},
		{"all set", map[string]any{"delaySeconds": "5", "status": "cancelled", "message": "m"}, ""},
		{"each terminal status", map[string]any{"status": "externalRunNotFound"}, ""},
		{"negative delay", map[string]any{"delaySeconds": -1.0}, "delaySeconds"},
		{"delay not a number", map[string]any{"delaySeconds": "soon"}, "delaySeconds"},
		{"processing status", map[string]any{"status": "inProgress"}, "status"},
		{"unknown status", map[string]any{"status": "done"}, "status"},
		{"message not a string", map[string]any{"message": []any{"a"}}, "message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, scope := range []agents.Scope{agents.ScopeAgent, agents.ScopeJob} {
				err := typ.Validate(tc.config, scope)
				if tc.field == "" && err != nil {
					t.Errorf("scope %d: %v", scope, err)
				}
				if tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field+": ")) {
					t.Errorf("scope %d: error = %v, want one naming %q", scope, err, tc.field)
				}
			}
		})
	}
}
