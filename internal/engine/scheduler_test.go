package engine

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// Tests of the scheduler (SPEC §7) on a fake clock and fake timers: a test
// moves the clock to a timer's due time and fires it; nothing sleeps.

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// fakeTimers records the timers the engine arms, with the time each is due
// on the fake clock, and fires them on demand.
type fakeTimers struct {
	clock  *fakeClock
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	owner   *fakeTimers
	due     time.Time
	f       func()
	stopped bool
	fired   bool
}

// AfterFunc is a Config.AfterFunc.
func (ft *fakeTimers) AfterFunc(d time.Duration, f func()) interface{ Stop() bool } {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{owner: ft, due: ft.clock.Now().Add(d), f: f}
	ft.timers = append(ft.timers, t)
	return t
}

// Stop reports, like time.Timer.Stop, whether it stopped a pending timer.
func (t *fakeTimer) Stop() bool {
	t.owner.mu.Lock()
	defer t.owner.mu.Unlock()
	pending := !t.stopped && !t.fired
	t.stopped = true
	return pending
}

// armed returns the timers neither fired nor stopped, earliest first.
func (ft *fakeTimers) armed() []*fakeTimer {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var out []*fakeTimer
	for _, t := range ft.timers {
		if !t.stopped && !t.fired {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *fakeTimer) int { return a.due.Compare(b.due) })
	return out
}

// next returns the single armed timer, failing when there is not exactly
// one (the scheduler keeps one timer per workspace).
func (ft *fakeTimers) next(t *testing.T) *fakeTimer {
	t.Helper()
	armed := ft.armed()
	if len(armed) != 1 {
		t.Fatalf("want one armed timer, got %d", len(armed))
	}
	return armed[0]
}

// fire moves the clock to the timer's due time and runs it, as the runtime
// would, but on the test's goroutine so that its effects are visible when
// fire returns.
func (t *fakeTimer) fire() {
	t.owner.mu.Lock()
	if t.stopped || t.fired {
		t.owner.mu.Unlock()
		return
	}
	t.fired = true
	t.owner.mu.Unlock()
	if t.owner.clock.Now().Before(t.due) {
		t.owner.clock.Set(t.due)
	}
	t.f()
}

// wantDue checks that a timer is due at slot, give or take the scheduler's
// small margin.
func wantDue(t *testing.T, timer *fakeTimer, slot time.Time) {
	t.Helper()
	if d := timer.due.Sub(slot); d < 0 || d > time.Second {
		t.Fatalf("timer due at %s, want %s", timer.due.Format(time.RFC3339Nano), slot.Format(time.RFC3339Nano))
	}
}

// newScheduledHarness returns a harness on a fake clock at t0 and fake
// timers.
func newScheduledHarness(t *testing.T) (*harness, *fakeClock, *fakeTimers) {
	clock := &fakeClock{now: t0}
	timers := &fakeTimers{clock: clock}
	h := newHarnessWith(t, Config{Clock: clock.Now, AfterFunc: timers.AfterFunc})
	return h, clock, timers
}

func rolloutPolicy(interval int) map[string]any {
	return policyOf("rollout", "true", map[string]any{"id": "r",
		"gradualRollout": map[string]any{"rolloutType": "linear", "timeScaleInterval": interval}})
}

func TestEngine_Scheduler_GradualRollout(t *testing.T) {
	h, _, timers := newScheduledHarness(t)
	world(h, "r1", "r2", "r3")
	h.must("policy.created", rolloutPolicy(60))
	h.must("deployment-version.created", version("v1", time.Time{}, ""))
	for slot := range 3 {
		if n := len(h.deployed("v1")); n != slot+1 {
			t.Fatalf("slot %d: %d targets have a job, want %d", slot, n, slot+1)
		}
		if slot == 2 {
			break
		}
		timer := timers.next(t)
		wantDue(t, timer, t0.Add(time.Duration(slot+1)*time.Minute))
		timer.fire()
	}
	if armed := timers.armed(); len(armed) != 0 {
		t.Fatalf("the rollout is over but a timer is armed for %s", armed[0].due)
	}
}

func TestEngine_Scheduler_VersionCooldown(t *testing.T) {
	h, clock, timers := newScheduledHarness(t)
	world(h, "r1")
	h.must("policy.created", policyOf("cool", "true", map[string]any{"id": "r",
		"versionCooldown": map[string]any{"intervalSeconds": 300}}))
	h.must("deployment-version.created", version("v1", time.Time{}, ""))
	clock.Set(t0.Add(10 * time.Second))
	h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
	clock.Set(t0.Add(20 * time.Second))
	h.must("deployment-version.created", version("v2", time.Time{}, ""))
	wantDeployed(t, h, "v2")
	timer := timers.next(t)
	wantDue(t, timer, t0.Add(300*time.Second))
	timer.fire()
	wantDeployed(t, h, "v2", prodKey("r1"))
}

func TestEngine_Scheduler_RetryBackoff(t *testing.T) {
	h, clock, timers := newScheduledHarness(t)
	world(h, "r1")
	h.must("policy.created", policyOf("retry", "true", map[string]any{"id": "r",
		"retry": map[string]any{"maxRetries": 2, "backoffSeconds": 30}}))
	h.must("deployment-version.created", version("v1", time.Time{}, ""))
	for attempt := 1; attempt <= 3; attempt++ {
		jobs := h.jobsOn(prodKey("r1"))
		if len(jobs) != attempt {
			t.Fatalf("attempt %d: %d jobs", attempt, len(jobs))
		}
		failedAt := clock.Now().Add(5 * time.Second)
		clock.Set(failedAt)
		h.finish(jobs[attempt-1].ID, model.JobFailure)
		if attempt == 3 {
			break
		}
		if n := len(h.jobsOn(prodKey("r1"))); n != attempt {
			t.Fatalf("attempt %d: a retry was created during the backoff", attempt)
		}
		timer := timers.next(t)
		wantDue(t, timer, failedAt.Add(30*time.Second))
		timer.fire()
	}
	if n := len(h.jobsOn(prodKey("r1"))); n != 3 {
		t.Fatalf("%d jobs after the retries were exhausted, want 3", n)
	}
	if armed := timers.armed(); len(armed) != 0 {
		t.Fatalf("retries are exhausted but a timer is armed for %s", armed[0].due)
	}
}

func TestEngine_Scheduler_Close(t *testing.T) {
	h, _, timers := newScheduledHarness(t)
	world(h, "r1", "r2")
	h.must("policy.created", rolloutPolicy(60))
	h.must("deployment-version.created", version("v1", time.Time{}, ""))
	timer := timers.next(t)
	h.eng.Close()
	if !timer.stopped {
		t.Fatal("Close left the timer armed")
	}
	// A callback already under way when Close stopped its timer does nothing.
	timer.f()
	if n := len(h.deployed("v1")); n != 1 {
		t.Fatalf("%d targets deployed after Close, want 1", n)
	}
	// Events are still applied, but arm nothing.
	h.must("resource.created", resource("r3", nil))
	if armed := timers.armed(); len(armed) != 0 {
		t.Fatalf("a timer was armed after Close, for %s", armed[0].due)
	}
}

func TestEngine_Scheduler_Restore(t *testing.T) {
	db := sqltest.Open(t, sqlstore.DialectSQLite)
	clock := &fakeClock{now: t0}
	quiet := slog.New(slog.DiscardHandler)
	before := &fakeTimers{clock: clock}
	h := newHarnessWith(t, Config{Persister: db, Loader: db, Clock: clock.Now, AfterFunc: before.AfterFunc, Logger: quiet})
	world(h, "r1", "r2", "r3")
	h.must("policy.created", rolloutPolicy(60))
	h.must("deployment-version.created", version("v1", time.Time{}, ""))
	targets := h.targets()
	first := h.deployed("v1")
	if len(first) != 1 {
		t.Fatalf("%d jobs before the restart", len(first))
	}
	wantDue(t, before.next(t), t0.Add(time.Minute))
	h.eng.Close()

	// Down for 61 s: the second slot opened meanwhile.
	clock.Set(t0.Add(61 * time.Second))
	after := &fakeTimers{clock: clock}
	h.eng = New(Config{Persister: db, Loader: db, Clock: clock.Now, AfterFunc: after.AfterFunc, Logger: quiet})
	t.Cleanup(h.eng.Close)
	if err := h.eng.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.targets(); !slices.Equal(got, targets) {
		t.Fatalf("targets after restore %v, want %v", got, targets)
	}
	snap := h.snapshot()
	for _, tg := range store.ReleaseTargets.Items(snap) {
		// Target states are derived, not stored: each one is back only
		// because restore evaluated its target.
		st, err := store.TargetStates.Get(snap, tg.Key())
		if err != nil || st.Reason == "" {
			t.Fatalf("target %s was not evaluated on restore: %+v, %v", tg.Key(), st, err)
		}
	}
	got := h.deployed("v1")
	if len(got) != 2 || !slices.Contains(got, first[0]) {
		t.Fatalf("after restore, jobs on %v; want the first one and the slot due while down", got)
	}
	// The third slot is scheduled by the restored engine.
	timer := after.next(t)
	wantDue(t, timer, t0.Add(2*time.Minute))
	timer.fire()
	if n := len(h.deployed("v1")); n != 3 {
		t.Fatalf("%d targets deployed after the third slot", n)
	}
	if armed := before.armed(); len(armed) != 0 {
		t.Fatal("the closed engine's timer is still armed")
	}
}
