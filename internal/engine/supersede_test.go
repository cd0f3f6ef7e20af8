package engine

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Tests of the supersede rule: a newer desired version cancels the older
// versions' jobs no agent has yet, and never touches the others.

func supersedePolicy() map[string]any {
	return policyOf("sup", "true", map[string]any{"id": "s", "supersede": map[string]any{}})
}

func TestEngine_Supersede(t *testing.T) {
	key := prodKey("r1")
	tests := []struct {
		name string
		// before runs with v1's job pending, before v2 is created.
		before     func(t *testing.T, h *harness, v1Job *model.Job)
		policy     bool
		wantV1     string // v1's job status once v2 exists
		wantV2Jobs int
	}{
		{"a pending job nobody took is superseded", nil, true, model.JobCancelled, 1},
		{"without the rule the new version waits", nil, false, model.JobPending, 0},
		{"a job whose dispatch failed and waits for a retry is superseded", func(t *testing.T, h *harness, j *model.Job) {
			must(t, h.eng.RecordDispatches(context.Background(), h.ws, []DispatchAttempt{
				{JobID: j.ID, At: time.Now(), Error: "503 from the agent", RetryAt: time.Now().Add(time.Minute)}}))
		}, true, model.JobCancelled, 1},
		{"a dispatched job is never touched", func(t *testing.T, h *harness, j *model.Job) {
			must(t, h.eng.RecordDispatches(context.Background(), h.ws, []DispatchAttempt{{JobID: j.ID, At: time.Now(), Delivered: true}}))
		}, true, model.JobPending, 0},
		{"a claimed job is never touched", func(t *testing.T, h *harness, j *model.Job) {
			if _, err := h.eng.Claim(context.Background(), h.ws, j.ID, time.Minute); err != nil {
				t.Fatal(err)
			}
		}, true, model.JobInProgress, 0},
		{"a job in progress is never touched", func(t *testing.T, h *harness, j *model.Job) {
			h.must("job.updated", map[string]any{"id": j.ID, "fieldsToUpdate": []string{"status"},
				"job": map[string]any{"status": model.JobInProgress}})
		}, true, model.JobInProgress, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			if tt.policy {
				h.must("policy.created", supersedePolicy())
			}
			h.must("deployment-version.created", version("v1", t0, ""))
			v1Job := h.onlyJob(key)
			if tt.before != nil {
				tt.before(t, h, v1Job)
			}
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
			got := h.job(v1Job.ID)
			if got.Status != tt.wantV1 {
				t.Fatalf("v1's job is %s, want %s", got.Status, tt.wantV1)
			}
			var v2 []*model.Job
			for _, j := range h.jobsOn(key) {
				if jobVersion(j) == "v2" {
					v2 = append(v2, j)
				}
			}
			if len(v2) != tt.wantV2Jobs {
				t.Fatalf("v2 has %d jobs, want %d", len(v2), tt.wantV2Jobs)
			}
			if tt.wantV1 != model.JobCancelled {
				return
			}
			if got.Message != "superseded by version v2" || got.Metadata[metaSupersededBy] != "v2" || got.CompletedAt.IsZero() {
				t.Fatalf("superseded job: message %q, metadata %v, completedAt %v", got.Message, got.Metadata, got.CompletedAt)
			}
			if v2[0].Status != model.JobPending {
				t.Fatalf("v2's job is %s", v2[0].Status)
			}
		})
	}
}

// TestEngine_Supersede_OnlyOlder checks that a version older than a
// pending job's never cancels it: when the newest version is withdrawn,
// the target waits for that version's job as before.
func TestEngine_Supersede_OnlyOlder(t *testing.T) {
	h := newHarness(t)
	world(h, "r1")
	h.must("policy.created", supersedePolicy())
	h.must("deployment-version.created", version("v1", t0, ""))
	h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
	h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
	v2Job := h.jobsOn(prodKey("r1"))[1]
	h.must("deployment-version.updated", version("v2", t0.Add(time.Minute), model.VersionRejected))
	if h.desiredVersion(prodKey("r1")) != "v1" {
		t.Fatalf("desired %q, want v1", h.desiredVersion(prodKey("r1")))
	}
	if got := h.job(v2Job.ID); got.Status != model.JobPending {
		t.Fatalf("the newer version's job became %s", got.Status)
	}
}

// TestEngine_Supersede_Chain checks versions arriving faster than an agent
// takes them: each new one cancels the one before, and only the newest
// waits to be dispatched.
func TestEngine_Supersede_Chain(t *testing.T) {
	h := newHarness(t)
	world(h, "r1")
	h.must("policy.created", supersedePolicy())
	for i, v := range []string{"v1", "v2", "v3", "v4"} {
		h.must("deployment-version.created", version(v, t0.Add(time.Duration(i)*time.Minute), ""))
	}
	jobs := h.jobsOn(prodKey("r1"))
	wantVersions(t, "r1", jobs, "v1", "v2", "v3", "v4")
	for i, j := range jobs {
		want := model.JobCancelled
		if i == len(jobs)-1 {
			want = model.JobPending
		}
		if j.Status != want {
			t.Errorf("job of %s is %s, want %s", jobVersion(j), j.Status, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
