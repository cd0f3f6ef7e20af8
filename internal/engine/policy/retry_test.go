package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestRetry(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ints := func(n int) *int { return &n }
	job := func(id, rel, status string, ago time.Duration) *model.Job {
		at := now.Add(-ago)
		return &model.Job{ID: id, ReleaseID: rel, JobAgentID: "a", Status: status, CreatedAt: at, CompletedAt: at}
	}
	on := func(agent string, j *model.Job) *model.Job { j.JobAgentID = agent; return j }
	tests := []struct {
		name      string
		jobs      []*model.Job // newest first
		rules     []*model.RetryRule
		allowed   bool
		nextAfter time.Duration // expected next evaluation offset from now, 0 for none
	}{
		{"first job of a release", nil, nil, true, 0},
		{"no rule: exactly one job", []*model.Job{job("1", "r", model.JobFailure, time.Minute)}, nil, false, 0},
		{"other release's job does not count", []*model.Job{job("1", "other", model.JobFailure, time.Minute)}, nil, true, 0},
		{"retry after one failure", []*model.Job{job("1", "r", model.JobFailure, time.Minute)},
			[]*model.RetryRule{{MaxRetries: 1}}, true, 0},
		{"retries exhausted", []*model.Job{job("2", "r", model.JobFailure, time.Minute), job("1", "r", model.JobFailure, 2*time.Minute)},
			[]*model.RetryRule{{MaxRetries: 1}}, false, 0},
		{"no rule: a cancelled job counts", []*model.Job{job("1", "r", model.JobCancelled, time.Minute)}, nil, false, 0},
		{"no rule: desired again after another release's job", []*model.Job{job("2", "other", model.JobSuccessful, time.Minute),
			job("1", "r", model.JobSuccessful, 2*time.Minute)}, nil, true, 0},
		{"a deployed release is not retried", []*model.Job{job("1", "r", model.JobSuccessful, time.Minute)},
			[]*model.RetryRule{{MaxRetries: 3}}, false, 0},
		{"a deployed release is not retried, custom statuses", []*model.Job{job("1", "r", model.JobSuccessful, time.Minute)},
			[]*model.RetryRule{{MaxRetries: 0, RetryOnStatuses: []string{model.JobFailure}}}, false, 0},
		{"maxRetries 0: a cancelled job is zero attempts", []*model.Job{job("1", "r", model.JobCancelled, time.Minute)},
			[]*model.RetryRule{{MaxRetries: 0}}, true, 0},
		{"a status not counted ends the walk", []*model.Job{job("3", "r", model.JobFailure, time.Minute),
			job("2", "r", model.JobCancelled, 2*time.Minute), job("1", "r", model.JobFailure, 3*time.Minute)},
			[]*model.RetryRule{{MaxRetries: 1}}, true, 0},
		{"a job for another agent config ends the walk", []*model.Job{on("old", job("1", "r", model.JobSuccessful, time.Minute))},
			nil, true, 0},
		{"a sibling agent's job is skipped", []*model.Job{on("b", job("2", "r", model.JobFailure, time.Minute)),
			job("1", "r", model.JobSuccessful, time.Minute)}, nil, false, 0},
		{"maxRetries 0 counts success", []*model.Job{job("1", "r", model.JobSuccessful, time.Minute)},
			[]*model.RetryRule{{MaxRetries: 0}}, false, 0},
		{"custom statuses: cancelled retried", []*model.Job{job("1", "r", model.JobCancelled, time.Minute)},
			[]*model.RetryRule{{MaxRetries: 1, RetryOnStatuses: []string{model.JobCancelled}}}, true, 0},
		{"linear backoff not over", []*model.Job{job("1", "r", model.JobFailure, 10*time.Second)},
			[]*model.RetryRule{{MaxRetries: 2, BackoffSeconds: ints(30)}}, false, 20 * time.Second},
		{"linear backoff over exactly", []*model.Job{job("1", "r", model.JobFailure, 30*time.Second)},
			[]*model.RetryRule{{MaxRetries: 2, BackoffSeconds: ints(30)}}, true, 0},
		{"exponential backoff doubles", []*model.Job{job("2", "r", model.JobFailure, 50*time.Second), job("1", "r", model.JobFailure, 2*time.Minute)},
			[]*model.RetryRule{{MaxRetries: 3, BackoffSeconds: ints(30), BackoffStrategy: "exponential"}}, false, 10 * time.Second},
		{"exponential backoff capped", []*model.Job{job("3", "r", model.JobFailure, 50*time.Second), job("2", "r", model.JobFailure, 2*time.Minute), job("1", "r", model.JobFailure, 3*time.Minute)},
			[]*model.RetryRule{{MaxRetries: 5, BackoffSeconds: ints(30), BackoffStrategy: "exponential", MaxBackoffSeconds: ints(45)}}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Walk{ReleaseID: "r", Same: func(j *model.Job) bool { return j.JobAgentID == "a" },
				Sibling: func(j *model.Job) bool { return j.JobAgentID == "b" }}
			d := Retry(now, tt.jobs, w, tt.rules)
			if d.Allowed != tt.allowed {
				t.Fatalf("allowed: want %v, got %v (%s)", tt.allowed, d.Allowed, d.Message)
			}
			switch {
			case tt.nextAfter == 0 && d.NextEvaluationTime != nil:
				t.Fatalf("unexpected next evaluation at %s", d.NextEvaluationTime)
			case tt.nextAfter != 0 && (d.NextEvaluationTime == nil || !d.NextEvaluationTime.Equal(now.Add(tt.nextAfter))):
				t.Fatalf("next evaluation: want %s, got %v", now.Add(tt.nextAfter), d.NextEvaluationTime)
			}
		})
	}
}
