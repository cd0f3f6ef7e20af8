package engine

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TestEngine_JobStateMachine: the engine stamps a job's start and end when
// the update leaves them out, keeps terminal jobs terminal, and refuses to
// let agents set the engine's fields (SPEC §5).
func TestEngine_JobStateMachine(t *testing.T) {
	given := t0.Add(-time.Hour)
	tests := []struct {
		name     string
		steps    []map[string]any // job fields of successive updates (fieldsToUpdate = their keys)
		wantCode string           // of the last update
		check    func(t *testing.T, j *model.Job, now time.Time)
	}{
		{"success alone stamps completedAt", []map[string]any{{"status": model.JobSuccessful}}, "",
			func(t *testing.T, j *model.Job, now time.Time) {
				if !j.CompletedAt.Equal(now) || !j.StartedAt.IsZero() {
					t.Errorf("startedAt %v, completedAt %v; want none and %v", j.StartedAt, j.CompletedAt, now)
				}
			}},
		{"inProgress stamps startedAt once", []map[string]any{{"status": model.JobInProgress}, {"status": model.JobActionRequired}}, "",
			func(t *testing.T, j *model.Job, now time.Time) {
				if !j.StartedAt.Equal(now) || !j.CompletedAt.IsZero() {
					t.Errorf("startedAt %v, completedAt %v; want %v and none", j.StartedAt, j.CompletedAt, now)
				}
			}},
		{"given times are kept", []map[string]any{{"status": model.JobFailure, "completedAt": given}}, "",
			func(t *testing.T, j *model.Job, _ time.Time) {
				if !j.CompletedAt.Equal(given) {
					t.Errorf("completedAt %v, want %v", j.CompletedAt, given)
				}
			}},
		{"a terminal job stays terminal", []map[string]any{{"status": model.JobSuccessful}, {"status": model.JobPending}}, model.ECONFLICT,
			func(t *testing.T, j *model.Job, _ time.Time) {
				if j.Status != model.JobSuccessful {
					t.Errorf("status %s, want successful", j.Status)
				}
			}},
		{"a terminal job may take a message", []map[string]any{{"status": model.JobFailure}, {"message": "disk full"}}, "",
			func(t *testing.T, j *model.Job, _ time.Time) {
				if j.Status != model.JobFailure || j.Message != "disk full" {
					t.Errorf("status %s message %q", j.Status, j.Message)
				}
			}},
		{"releaseId is the engine's", []map[string]any{{"releaseId": "other"}}, model.EINVALID, nil},
		{"jobAgentId is the engine's", []map[string]any{{"jobAgentId": "other"}}, model.EINVALID, nil},
		{"dispatchContext is the engine's", []map[string]any{{"dispatchContext": map[string]any{}}}, model.EINVALID, nil},
		{"createdAt is the engine's", []map[string]any{{"createdAt": given}}, model.EINVALID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(time.Minute)
			h := newHarnessWith(t, Config{Clock: func() time.Time { return now }})
			world(h, "r1")
			h.must("deployment-version.created", version("v1", t0, ""))
			id := h.onlyJob(prodKey("r1")).ID
			var err error
			for _, fields := range tt.steps {
				var names []string
				job := map[string]any{"id": id}
				for k, v := range fields {
					names = append(names, k)
					job[k] = v
				}
				err = h.apply("job.updated", map[string]any{"id": id, "job": job, "fieldsToUpdate": names})
			}
			if model.ErrorCode(err) != tt.wantCode {
				t.Fatalf("last update: %v, want code %q", err, tt.wantCode)
			}
			if tt.check != nil {
				tt.check(t, h.job(id), now)
			}
		})
	}
}

// TestEngine_RedeployCurrent: a redeploy without a desired release runs the
// current one again; with neither it is refused.
func TestEngine_RedeployCurrent(t *testing.T) {
	target := map[string]any{"resourceId": "r1", "environmentId": "prod", "deploymentId": "api"}
	h := newHarness(t)
	world(h, "r1")
	if err := h.apply("release-target.deploy", target); model.ErrorCode(err) != model.ECONFLICT {
		t.Fatalf("redeploy with nothing to deploy: %v, want a conflict", err)
	}
	h.must("deployment-version.created", version("v1", t0, ""))
	first := h.onlyJob(prodKey("r1"))
	h.finish(first.ID, model.JobSuccessful)
	// v1 rejected: no desired release any more, but v1 is current.
	h.must("deployment-version.updated", version("v1", t0, model.VersionRejected))
	if h.desired(prodKey("r1")) != nil {
		t.Fatal("a rejected version is still desired")
	}
	h.must("release-target.deploy", target)
	jobs := h.jobsOn(prodKey("r1"))
	if len(jobs) != 2 || jobs[1].ReleaseID != first.ReleaseID || jobs[1].Status != model.JobPending {
		t.Fatalf("after the redeploy: %d jobs; want a pending one for the current release", len(jobs))
	}
}
