package dispatch_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatehouse-dev/gatehouse/internal/agents/dispatch"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/telemetry/telemetrytest"
)

// TestDispatcher_HonoursRetryAfter: a receiver answering 429 with
// Retry-After is not asked again before that time, although the backoff
// alone would come back far sooner; a 4xx that is neither 408 nor 429
// fails the job at once, with the receiver's answer, after one delivery.
func TestDispatcher_HonoursRetryAfter(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	refusing := newReceiver(t, func(_ int, w http.ResponseWriter) {
		http.Error(w, "no such pipeline", http.StatusUnprocessableEntity)
	})
	w := newWorld(t, engine.Config{}, dispatch.Config{})
	w.setup(map[string]map[string]any{"hook": hookAgent(rc.URL), "refusing": hookAgent(refusing.URL)},
		map[string]string{"api": "hook", "web": "refusing"}, "r1")
	w.version("api", "v1")
	w.version("web", "w1")
	byAgent := func(agent string) *model.Job {
		for _, j := range w.jobs() {
			if j.JobAgentID == agent {
				return j
			}
		}
		return nil
	}
	until(t, "the throttled attempt to be recorded", func() bool {
		j := byAgent("hook")
		return j != nil && j.Dispatch != nil && j.Dispatch.Attempts == 1
	})
	until(t, "the refused job to fail", func() bool {
		j := byAgent("refusing")
		return j != nil && j.Status == model.JobInvalidIntegration
	})
	d := byAgent("hook").Dispatch
	if wait := d.NextAttemptAt.Sub(d.LastAttemptAt); wait < time.Hour {
		t.Errorf("retry scheduled %s after the attempt, want at least the hour Retry-After asked for", wait)
	}
	if !strings.Contains(d.LastError, "429") || !strings.Contains(d.LastError, "slow down") {
		t.Errorf("lastError %q does not hold the receiver's answer", d.LastError)
	}
	if j := byAgent("hook"); j.Status != model.JobPending {
		t.Errorf("throttled job is %s, want pending until its retry", j.Status)
	}
	refused := byAgent("refusing")
	if refusing.count() != 1 || refused.Dispatch.Attempts != 1 || !strings.Contains(refused.Message, "no such pipeline") {
		t.Errorf("refused job: %d deliveries, %d attempts, message %q; want one each and the receiver's answer",
			refusing.count(), refused.Dispatch.Attempts, refused.Message)
	}
}

// TestDispatcher_DeliveryRecordedAfterAnEarlyReport: a receiver that
// reports the job finished (job.updated) before it answers the delivery
// still has the delivery shown on the job (attempts, dispatchedAt) and
// its externalId stored, while the status stays what it reported.
func TestDispatcher_DeliveryRecordedAfterAnEarlyReport(t *testing.T) {
	var w *world
	rc := newReceiver(t, func(_ int, rw http.ResponseWriter) {
		id := w.jobs()[0].ID
		w.apply("job.updated", map[string]any{"id": id, "job": map[string]any{"status": "successful", "message": "done early"},
			"fieldsToUpdate": []string{"status", "message"}})
		rw.Header().Set("Content-Type", "application/json")
		io.WriteString(rw, `{"externalId": "run-7"}`)
	})
	w = newWorld(t, engine.Config{}, dispatch.Config{})
	w.setup(map[string]map[string]any{"hook": hookAgent(rc.URL)}, map[string]string{"api": "hook"}, "r1")
	w.version("api", "v1")
	until(t, "the delivery to be recorded", func() bool {
		j := w.jobs()
		return len(j) == 1 && j[0].Dispatch != nil
	})
	j := w.jobs()[0]
	if j.Dispatch.Attempts != 1 || j.Dispatch.DispatchedAt.IsZero() || j.Dispatch.LastError != "" {
		t.Errorf("dispatch %+v, want one attempt, delivered", j.Dispatch)
	}
	if j.Status != model.JobSuccessful || j.Message != "done early" || j.ExternalID != "run-7" {
		t.Errorf("job %s %q externalId %q, want what the receiver reported and the id it answered", j.Status, j.Message, j.ExternalID)
	}
	if rc.count() != 1 {
		t.Errorf("%d deliveries, want 1", rc.count())
	}
}

// TestDispatcher_OnlyTheOwnerHandsJobsOver: jobs of a workspace this
// process does not own are neither delivered nor queued here, however
// they are committed; once it owns the workspace, Resume hands them over.
func TestDispatcher_OnlyTheOwnerHandsJobsOver(t *testing.T) {
	var owns atomic.Bool
	rc := newReceiver(t, nil)
	reg := prometheus.NewRegistry()
	w := newWorld(t, engine.Config{}, dispatch.Config{Registerer: reg, Owns: func(string) bool { return owns.Load() }})
	w.setup(map[string]map[string]any{"hook": hookAgent(rc.URL)}, map[string]string{"api": "hook"}, "r1", "r2")
	w.version("api", "v1")
	w.d.Resume(w.ws)
	// A task, once queued, stays counted as waiting until its delivery
	// reached the receiver: so neither being zero means none was made.
	waiting := telemetrytest.Value(t, reg, "gatehouse_jobs_waiting_for_dispatch")
	if waiting != 0 || rc.count() != 0 {
		t.Fatalf("a process not owning the workspace: %v jobs waiting, %d delivered; want none", waiting, rc.count())
	}
	for _, j := range w.jobs() {
		if j.Dispatch != nil {
			t.Errorf("job %s has dispatch %+v in a process not owning it", j.ID, j.Dispatch)
		}
	}

	owns.Store(true)
	w.d.Resume(w.ws)
	until(t, "both jobs delivered and recorded", func() bool {
		n := 0
		for _, j := range w.jobs() {
			if j.Dispatch != nil && !j.Dispatch.DispatchedAt.IsZero() {
				n++
			}
		}
		return n == 2
	})
	if rc.count() != 2 {
		t.Errorf("%d deliveries, want 2", rc.count())
	}
}

// TestDispatcher_FollowAndLatencyMetrics: a followed job's polls are
// counted by type and outcome, and each attempt's duration is observed.
func TestDispatcher_FollowAndLatencyMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := newWorld(t, engine.Config{}, dispatch.Config{Registerer: reg})
	w.setup(map[string]map[string]any{"tr": {"type": "test-runner", "config": map[string]any{"delaySeconds": 0}}},
		map[string]string{"api": "tr"}, "r1")
	w.version("api", "v1")
	until(t, "the job to end", func() bool {
		j := w.jobs()
		return len(j) == 1 && j[0].Status == model.JobSuccessful
	})
	until(t, "the poll to be counted", func() bool {
		return testutil.ToFloat64(counter(t, reg, "gatehouse_follower_polls_total", "test-runner", "ok")) >= 1
	})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	observed := uint64(0)
	for _, f := range families {
		if f.GetName() == "gatehouse_dispatch_duration_seconds" {
			for _, m := range f.GetMetric() {
				if m.GetLabel()[0].GetValue() == "test-runner" {
					observed = m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if observed != 1 {
		t.Errorf("%d dispatch durations observed for test-runner, want 1 (one attempt)", observed)
	}
	if got := testutil.ToFloat64(counter(t, reg, "gatehouse_follower_polls_total", "test-runner", "error")); got != 0 {
		t.Errorf("%v follower errors, want 0", got)
	}
}
