package github_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	gogithub "github.com/google/go-github/v74/github"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/github"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func follow(t *testing.T, typ *agents.Type, job agents.Job) agents.Update {
	t.Helper()
	u, err := typ.Follower.Follow(context.Background(), job)
	if err != nil {
		t.Fatalf("follow: %v", err)
	}
	return u
}

func TestGitHub_FollowFindsRunByTitle(t *testing.T) {
	f, typ, config := setup(t)
	job := dispatchedJob(config)
	// Older than the dispatch (less the lookback): the same title from an
	// earlier attempt must not be taken for this job's run.
	f.addRun(1001, jobID, "completed", "failure", job.DispatchedAt.Add(-10*time.Minute))
	f.addRun(1002, "0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b6", "in_progress", "", job.DispatchedAt.Add(time.Second))
	f.addRun(1003, jobID, "queued", "", job.DispatchedAt.Add(5*time.Second))
	f.addRun(1004, "Nightly build", "in_progress", "", job.DispatchedAt.Add(9*time.Second))

	u := follow(t, typ, job)
	if u.Status != model.JobInProgress || u.ExternalID != "1003" || u.Links["run"] != "https://github.com/acme/shop/actions/runs/1003" {
		t.Errorf("update = %+v, want run 1003 in progress with its link", u)
	}
	q := f.listed[0]
	if q.Get("event") != "workflow_dispatch" || q.Get("per_page") != "100" ||
		q.Get("created") != ">="+job.DispatchedAt.Add(-2*time.Minute).Format(time.RFC3339) {
		t.Errorf("runs listed with %v", q)
	}
}

func TestGitHub_FollowPagesThroughRuns(t *testing.T) {
	f, typ, config := setup(t)
	job := dispatchedJob(config)
	f.addRun(2000, jobID, "completed", "success", job.DispatchedAt.Add(time.Second))
	for i := range 150 { // newer runs push the job's to the second page
		f.addRun(int64(3000+i), fmt.Sprintf("run %d", i), "completed", "success", job.DispatchedAt.Add(time.Minute))
	}
	u := follow(t, typ, job)
	if u.Status != model.JobSuccessful || u.ExternalID != "2000" {
		t.Errorf("update = %+v, want run 2000 successful", u)
	}
	if len(f.listed) != 2 || f.listed[1].Get("page") != "2" {
		t.Errorf("listed %d pages: %v", len(f.listed), f.listed)
	}
}

func TestGitHub_FollowRunNotFound(t *testing.T) {
	f, typ, config := setup(t)
	job := dispatchedJob(config)
	f.addRun(1, "Deploy by someone else", "in_progress", "", job.DispatchedAt)

	if u := follow(t, typ, job); u.Status != "" || u.ExternalID != "" {
		t.Errorf("update = %+v, want nothing known yet", u)
	}
	job.DispatchedAt = now.Add(-5 * time.Minute)
	u := follow(t, typ, job)
	if u.Status != model.JobExternalRunNotFound || !strings.Contains(u.Message, "run-name") {
		t.Errorf("update = %+v, want externalRunNotFound telling how to name runs", u)
	}
}

func TestGitHub_FollowKnownRun(t *testing.T) {
	f, typ, config := setup(t)
	job := dispatchedJob(config)
	job.Status, job.ExternalID = model.JobInProgress, "5005"
	run := f.addRun(5005, jobID, "in_progress", "", job.DispatchedAt)

	if u := follow(t, typ, job); u.Status != model.JobInProgress {
		t.Errorf("update = %+v, want inProgress", u)
	}
	f.mu.Lock()
	run["status"], run["conclusion"] = "completed", "timed_out"
	f.mu.Unlock()
	if u := follow(t, typ, job); u.Status != model.JobFailure || !strings.Contains(u.Message, "timed out") {
		t.Errorf("update = %+v, want failure (timed out)", u)
	}
	if len(f.listed) != 0 {
		t.Errorf("a known run was looked for in the list")
	}

	job.ExternalID = "6006" // deleted
	u := follow(t, typ, job)
	if u.Status != model.JobExternalRunNotFound || !strings.Contains(u.Message, "6006") {
		t.Errorf("update = %+v, want externalRunNotFound for the vanished run", u)
	}
}

func TestGitHub_FollowFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    answer
		status    int
		retryable bool
	}{
		{"credentials revoked", answer{status: 401, body: `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`}, 401, false},
		{"repository gone", answer{status: 404, body: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow","status":"404"}`}, 404, false},
		{"GitHub down", answer{status: 503, body: `{"message":"Service Unavailable"}`, header: map[string]string{"Retry-After": "5"}}, 503, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, typ, config := setup(t)
			f.failWith("list", tc.answer)
			_, err := typ.Follower.Follow(context.Background(), dispatchedJob(config))
			e := agents.Classify(err)
			if e == nil || e.StatusCode != tc.status || e.Retryable != tc.retryable {
				t.Errorf("error = %+v, want status %d retryable %v", e, tc.status, tc.retryable)
			}
		})
	}
}

func TestRunUpdate_Statuses(t *testing.T) {
	for _, tc := range []struct{ status, conclusion, want string }{
		{"queued", "", model.JobInProgress},
		{"in_progress", "", model.JobInProgress},
		{"waiting", "", model.JobInProgress},
		{"requested", "", model.JobInProgress},
		{"pending", "", model.JobInProgress},
		{"completed", "success", model.JobSuccessful},
		{"completed", "neutral", model.JobSuccessful},
		{"completed", "failure", model.JobFailure},
		{"completed", "timed_out", model.JobFailure},
		{"completed", "startup_failure", model.JobFailure},
		{"completed", "cancelled", model.JobCancelled},
		{"completed", "stale", model.JobCancelled},
		{"completed", "skipped", model.JobSkipped},
		{"completed", "action_required", model.JobActionRequired},
	} {
		run := &gogithub.WorkflowRun{ID: gogithub.Ptr(int64(8)), Status: &tc.status}
		if tc.conclusion != "" {
			run.Conclusion = &tc.conclusion
		}
		if got := github.RunUpdate(run).Status; got != tc.want {
			t.Errorf("%s/%s → %s, want %s", tc.status, tc.conclusion, got, tc.want)
		}
	}
}
