package engine

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// Tests of verifications (SPEC §5): metrics measured after a job against a
// real HTTP server, on a fake clock and fake timers.

// healthServer answers GET /health with the status set in code.
func healthServer(t *testing.T, code *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(code.Load()))
		_, _ = w.Write([]byte(`{"healthy": true}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func verificationPolicy(url string, count, failureThreshold int) map[string]any {
	return policyOf("verify", "true",
		map[string]any{"id": "check", "verification": map[string]any{"metrics": []any{map[string]any{
			"name": "health", "intervalSeconds": 60, "count": count, "failureThreshold": failureThreshold,
			"successCondition": "result.statusCode == 200",
			"provider":         map[string]any{"type": "http", "url": url + "/health"},
		}}}},
		map[string]any{"id": "back", "rollback": map[string]any{"onVerificationFailure": true}})
}

// until waits for cond to hold, for the measurement goroutine to catch up;
// it never asserts on how long that takes.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// verificationOf returns the job's one verification as readers see it,
// measurements included.
func (h *harness) verificationOf(jobID string) *model.JobVerification {
	vs := JobVerifications(h.snapshot(), jobID)
	if len(vs) != 1 {
		return nil
	}
	return vs[0]
}

// newVerifyHarness is newScheduledHarness with verification targets on
// loopback allowed, as the httptest servers are.
func newVerifyHarness(t *testing.T) (*harness, *fakeClock, *fakeTimers) {
	clock := &fakeClock{now: t0}
	timers := &fakeTimers{clock: clock}
	h := newHarnessWith(t, Config{Clock: clock.Now, AfterFunc: timers.AfterFunc, VerificationAllowPrivate: true})
	return h, clock, timers
}

// hasStatus reports whether the job's verification has the status.
func hasStatus(h *harness, jobID, status string) func() bool {
	return func() bool {
		v := h.verificationOf(jobID)
		return v != nil && v.Status == status
	}
}

func measured(h *harness, jobID string, n int) func() bool {
	return func() bool {
		v := h.verificationOf(jobID)
		return v != nil && len(v.Metrics[0].Measurements) >= n
	}
}

// armedAfter returns the armed timer due after now: the verification's wait
// for its next measurement.
func armedAfter(t *testing.T, timers *fakeTimers, now time.Time) *fakeTimer {
	t.Helper()
	var found *fakeTimer
	until(t, "a timer for the next measurement", func() bool {
		for _, tm := range timers.armed() {
			if tm.due.After(now) {
				found = tm
				return true
			}
		}
		return false
	})
	return found
}

func TestEngine_Verification_PassMakesReleaseCurrent(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	srv := healthServer(t, &code)
	h, clock, timers := newVerifyHarness(t)
	t.Cleanup(h.eng.Close)
	world(h, "r1")
	h.must("policy.created", verificationPolicy(srv.URL, 2, 0))
	h.must("deployment-version.created", version("v1", t0, ""))
	job := h.onlyJob(prodKey("r1"))
	h.finish(job.ID, model.JobSuccessful)

	until(t, "the first measurement", measured(h, job.ID, 1))
	if cur := history.CurrentRelease(h.snapshot(), prodKey("r1")); cur != nil {
		t.Fatal("a release under verification is already current")
	}
	armedAfter(t, timers, clock.Now()).fire()
	until(t, "the verification to pass", hasStatus(h, job.ID, model.VerificationPassed))
	cur := history.CurrentRelease(h.snapshot(), prodKey("r1"))
	if cur == nil || cur.Version.ID != "v1" {
		t.Fatalf("after a passed verification the current release is %v, want v1", cur)
	}
}

func TestEngine_Verification_FailureRollsBack(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	srv := healthServer(t, &code)
	h, clock, _ := newVerifyHarness(t)
	t.Cleanup(h.eng.Close)
	world(h, "r1")
	h.must("policy.created", verificationPolicy(srv.URL, 1, 1))
	h.must("deployment-version.created", version("v1", t0, ""))
	first := h.onlyJob(prodKey("r1"))
	h.finish(first.ID, model.JobSuccessful)
	until(t, "v1 to pass verification", hasStatus(h, first.ID, model.VerificationPassed))

	code.Store(500)
	clock.Set(t0.Add(time.Hour))
	h.must("deployment-version.created", version("v2", t0.Add(time.Hour), ""))
	jobs := h.jobsOn(prodKey("r1"))
	second := jobs[len(jobs)-1]
	h.finish(second.ID, model.JobSuccessful)
	until(t, "v2's verification to fail", hasStatus(h, second.ID, model.VerificationFailed))
	var rollback *model.Job
	for _, j := range h.jobsOn(prodKey("r1")) {
		if j.Metadata["rollbackOf"] == second.ID {
			rollback = j
		}
	}
	if rollback == nil || jobVersion(rollback) != "v1" || rollback.Status != model.JobPending {
		t.Fatalf("want a pending rollback job of v1 after v2's verification failed, got %v", jobVersions(h.jobsOn(prodKey("r1"))))
	}
	if cur := history.CurrentRelease(h.snapshot(), prodKey("r1")); cur == nil || cur.Version.ID != "v1" {
		t.Fatalf("the failed v2 became current: %v", cur)
	}
}

// TestEngine_Verification_ResumesAfterRestart: measurements are durable
// rows; after a restart the verification resumes from them, on both
// databases.
func TestEngine_Verification_ResumesAfterRestart(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	srv := healthServer(t, &code)
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			clock := &fakeClock{now: t0}
			quiet := slog.New(slog.DiscardHandler)
			before := &fakeTimers{clock: clock}
			cfg := Config{Persister: db, Loader: db, Clock: clock.Now, Logger: quiet, VerificationAllowPrivate: true}
			cfg.AfterFunc = before.AfterFunc
			h := newHarnessWith(t, cfg)
			world(h, "r1")
			h.must("policy.created", verificationPolicy(srv.URL, 2, 0))
			h.must("deployment-version.created", version("v1", t0, ""))
			job := h.onlyJob(prodKey("r1"))
			h.finish(job.ID, model.JobSuccessful)
			until(t, "the first measurement", measured(h, job.ID, 1))
			h.eng.Close()

			after := &fakeTimers{clock: clock}
			cfg.AfterFunc = after.AfterFunc
			h.eng = New(cfg)
			t.Cleanup(h.eng.Close)
			if err := h.eng.Restore(context.Background()); err != nil {
				t.Fatal(err)
			}
			if v := h.verificationOf(job.ID); v == nil || v.Status != model.VerificationRunning || len(v.Metrics[0].Measurements) != 1 {
				t.Fatalf("after restore the verification is %+v, want running with its one measurement", v)
			}
			// The second measurement is due a minute after the first, not a
			// minute after the restart.
			next := armedAfter(t, after, clock.Now())
			wantDue(t, next, t0.Add(time.Minute))
			next.fire()
			until(t, "the verification to pass after the restart", hasStatus(h, job.ID, model.VerificationPassed))
			if v := h.verificationOf(job.ID); len(v.Metrics[0].Measurements) != 2 {
				t.Errorf("after passing: %d measurements, want 2", len(v.Metrics[0].Measurements))
			}
		})
	}
}
