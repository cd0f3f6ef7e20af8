package engine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Tests of freezes: while one is in force no new job is made on the
// targets it picks; running jobs, other targets and rollbacks go on.

func freeze(id, selector, reason string) map[string]any {
	return map[string]any{"id": id, "selector": selector, "reason": reason}
}

func (h *harness) reason(targetKey string) string {
	h.t.Helper()
	st, err := store.TargetStates.Get(h.snapshot(), targetKey)
	if err != nil {
		h.t.Fatalf("target state %s: %v", targetKey, err)
	}
	return st.Reason
}

func TestEngine_Freeze(t *testing.T) {
	prodOnly := freeze("f", `environment.name == "prod"`, "the payments incident")
	tests := []struct {
		name  string
		steps func(h *harness)
		// want maps a version to the targets with a job of it at the end.
		want map[string][]string
	}{
		{"a freeze holds new jobs on the targets it picks", func(h *harness) {
			h.must("freeze.created", prodOnly)
			h.must("deployment-version.created", version("v1", t0, ""))
		}, map[string][]string{"v1": {s1Staging}}},
		{"lifting the freeze lets the jobs be made", func(h *harness) {
			h.must("freeze.created", prodOnly)
			h.must("deployment-version.created", version("v1", t0, ""))
			h.must("freeze.deleted", map[string]any{"id": "f"})
		}, map[string][]string{"v1": {s1Staging, p1Prod, p2Prod}}},
		{"a freeze created later holds the next version, not the jobs made before", func(h *harness) {
			h.must("deployment-version.created", version("v1", t0, ""))
			h.must("freeze.created", prodOnly)
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
			for _, key := range []string{p1Prod, p2Prod} {
				if j := h.jobsOn(key)[0]; j.Status != model.JobPending {
					h.t.Fatalf("the freeze touched the pending job on %s: %s", key, j.Status)
				}
			}
		}, map[string][]string{"v1": {s1Staging, p1Prod, p2Prod}, "v2": {}}},
		{"narrowing a freeze releases the targets it no longer picks", func(h *harness) {
			h.must("freeze.created", freeze("f", "true", "a release freeze"))
			h.must("deployment-version.created", version("v1", t0, ""))
			h.must("freeze.updated", freeze("f", `resource.name == "p2"`, "a release freeze"))
		}, map[string][]string{"v1": {s1Staging, p1Prod}}},
		{"widening a freeze holds the targets it now picks", func(h *harness) {
			h.must("freeze.created", freeze("f", `resource.name == "p2"`, "a release freeze"))
			h.must("freeze.updated", freeze("f", "true", "a release freeze"))
			h.must("deployment-version.created", version("v1", t0, ""))
		}, map[string][]string{"v1": {}}},
		{"a freeze whose end has passed holds nothing", func(h *harness) {
			f := freeze("f", "true", "yesterday's freeze")
			f["until"] = time.Now().Add(-time.Hour)
			h.must("freeze.created", f)
			h.must("deployment-version.created", version("v1", t0, ""))
		}, map[string][]string{"v1": {s1Staging, p1Prod, p2Prod}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h)
			tt.steps(h)
			for v, want := range tt.want {
				wantDeployed(t, h, v, want...)
			}
		})
	}
}

func TestEngine_Freeze_Explained(t *testing.T) {
	h, _, _ := newScheduledHarness(t)
	stages(h)
	until := t0.Add(2 * time.Hour)
	f := freeze("f", `environment.name == "prod"`, "the payments incident")
	f["until"] = until
	h.must("freeze.created", f)
	h.must("freeze.created", freeze("g", `resource.name == "p1"`, "a change freeze"))
	h.must("deployment-version.created", version("v1", t0, ""))

	want := "frozen by the payments incident until 2025-03-01T14:00:00Z; frozen by a change freeze until it is lifted"
	if got := h.reason(p1Prod); got != want {
		t.Fatalf("reason of p1:\n got  %q\n want %q", got, want)
	}
	if got := h.reason(p2Prod); got != "frozen by the payments incident until 2025-03-01T14:00:00Z" {
		t.Fatalf("reason of p2: %q", got)
	}
	if h.desiredVersion(p2Prod) != "v1" {
		t.Fatalf("a frozen target still shows what it would deploy; desired %q", h.desiredVersion(p2Prod))
	}
	ev, err := h.eng.Evaluate(h.snapshot(), p1Prod, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Frozen != want || len(ev.Freezes) != 2 || !ev.Allowed {
		t.Fatalf("evaluate: frozen %q, %d freezes, allowed %v", ev.Frozen, len(ev.Freezes), ev.Allowed)
	}
	if ev.NextEvaluationTime == nil || !ev.NextEvaluationTime.Equal(until) {
		t.Fatalf("evaluate: next evaluation %v, want %s", ev.NextEvaluationTime, until)
	}
	if ev, _ := h.eng.Evaluate(h.snapshot(), s1Staging, "v1"); ev.Frozen != "" || ev.Freezes != nil {
		t.Fatalf("staging is not frozen, evaluate says %q", ev.Frozen)
	}
}

func TestEngine_Freeze_Until(t *testing.T) {
	h, _, timers := newScheduledHarness(t)
	stages(h)
	f := freeze("f", `environment.name == "prod"`, "the weekend")
	f["until"] = t0.Add(48 * time.Hour)
	h.must("freeze.created", f)
	h.must("deployment-version.created", version("v1", t0, ""))
	wantDeployed(t, h, "v1", s1Staging)
	timer := timers.next(t)
	wantDue(t, timer, t0.Add(48*time.Hour))
	timer.fire()
	wantDeployed(t, h, "v1", s1Staging, p1Prod, p2Prod)
	if r := h.reason(p1Prod); strings.Contains(r, "frozen") {
		t.Fatalf("the freeze has ended but the reason says %q", r)
	}
}

func TestEngine_Freeze_RedeployRefused(t *testing.T) {
	h := newHarness(t)
	stages(h)
	h.must("deployment-version.created", version("v1", t0, ""))
	h.finish(h.onlyJob(p1Prod).ID, model.JobSuccessful)
	h.must("freeze.created", freeze("f", "true", "the incident"))
	err := h.apply("release-target.deploy", map[string]any{"resourceId": "p1", "environmentId": "prod", "deploymentId": "api"})
	if model.ErrorCode(err) != model.ECONFLICT || !strings.Contains(err.Error(), "frozen by the incident") {
		t.Fatalf("redeploy of a frozen target: want a conflict naming the freeze, got %v", err)
	}
	if n := len(h.jobsOn(p1Prod)); n != 1 {
		t.Fatalf("the refused redeploy made a job: %d jobs", n)
	}
}

func TestEngine_Freeze_RollbackGoesThrough(t *testing.T) {
	h := newHarness(t)
	world(h, "r1")
	h.must("policy.created", policyOf("rb", "true", map[string]any{"id": "r", "rollback": map[string]any{"onJobStatuses": []string{model.JobFailure}}}))
	h.must("deployment-version.created", version("v1", t0, ""))
	h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
	h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
	h.must("freeze.created", freeze("f", "true", "the incident"))
	h.finish(h.jobsOn(prodKey("r1"))[1].ID, model.JobFailure)
	wantVersions(t, "r1", h.jobsOn(prodKey("r1")), "v1", "v2", "v1")
}

func TestEngine_Freeze_Refused(t *testing.T) {
	tests := []struct {
		name  string
		data  map[string]any
		field string
	}{
		{"a selector that does not compile", freeze("f", "resource.name ==", "x"), "freeze.selector"},
		{"a selector naming a field targets lack", freeze("f", `resource.nmae == "x"`, "x"), "freeze.selector"},
		{"no selector", freeze("f", "", "x"), "freeze.selector"},
		{"no reason", freeze("f", "true", ""), "freeze.reason"},
		{"an unknown field", map[string]any{"id": "f", "selector": "true", "reason": "x", "untill": t0}, "freeze.untill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h)
			err := h.apply("freeze.created", tt.data)
			if model.ErrorCode(err) != model.EINVALID || model.ErrorField(err) != tt.field {
				t.Fatalf("want EINVALID naming %s, got %v (field %q)", tt.field, err, model.ErrorField(err))
			}
			if store.Freezes.Count(h.snapshot()) != 0 {
				t.Fatal("the refused freeze was stored")
			}
		})
	}
}

// A frozen target waits on the freeze while a release that would deploy is
// held, which the waiting-targets gauge shows; at its current release it
// waits on nothing.
func TestEngine_Freeze_Waiting(t *testing.T) {
	h := newHarness(t)
	stages(h)
	waitsOnFreeze := func(key string) bool {
		st, err := store.TargetStates.Get(h.snapshot(), key)
		if err != nil {
			t.Fatalf("target state %s: %v", key, err)
		}
		return slices.Contains(st.WaitingOn, "freeze")
	}
	h.must("deployment-version.created", version("v1", t0, ""))
	h.finish(h.onlyJob(p1Prod).ID, model.JobSuccessful)
	h.must("freeze.created", freeze("f", `resource.name == "p1"`, "the incident"))
	if waitsOnFreeze(p1Prod) {
		t.Error("a frozen target at its current release waits on the freeze")
	}
	h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
	if !waitsOnFreeze(p1Prod) {
		t.Error("a frozen target with v2 held does not wait on the freeze")
	}
	if waitsOnFreeze(p2Prod) {
		t.Error("a target the freeze does not pick waits on it")
	}
	h.must("freeze.deleted", map[string]any{"id": "f"})
	if waitsOnFreeze(p1Prod) {
		t.Error("the target still waits on a lifted freeze")
	}
}
