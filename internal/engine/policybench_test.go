package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// idleTimer is a scheduler timer that never fires, so that no scheduled
// evaluation competes with the measured one.
type idleTimer struct{}

func (idleTimer) Stop() bool { return true }

// BenchmarkPolicies measures one new deployment version on a workspace of
// 10,000 targets (1 deployment, 10 environments, 1,000 resources, every
// selector true, one system) under five policies that match every target:
//
//   - anyApproval {minApprovals: 1}: the measured version is left pending
//     (approvals can only name an existing version), so every target goes
//     on to the previous version, v0, which predates the rule and passes it;
//   - environmentProgression on env-0: v0 succeeded everywhere, so the rule
//     scans env-0's 1,000 targets for every other target (env-0's own
//     targets have no other environment to depend on and are denied);
//   - gradualRollout linear, 1 s: not started for the new version (its
//     approval is pending); computed in full for v0;
//   - deploymentWindow FREQ=DAILY, 1,440 minutes (always inside): it applies,
//     since v0 is every target's current release;
//   - retry {maxRetries: 2}: v0's release has a successful job, not retried.
//
// So each target evaluates the new version (pending) and v0 (every rule),
// resolves v0's release and checks retry; no job is created. The clock is
// fake: v0 was deployed three hours before the measured version.
//
//	go test ./internal/engine -run '^$' -bench BenchmarkPolicies -benchtime 1x
func BenchmarkPolicies(b *testing.B) {
	clock := &fakeClock{now: t0}
	eng := New(Config{Clock: clock.Now, Logger: slog.New(slog.DiscardHandler),
		AfterFunc: func(time.Duration, func()) interface{ Stop() bool } { return idleTimer{} }})
	defer eng.Close()
	var events []Event
	for _, ev := range targetWorkspace(b, 10, 1, 1000) {
		if ev.Type == "environment.created" {
			var env map[string]any
			_ = json.Unmarshal(ev.Data, &env)
			env["resourceSelector"] = cel("true")
			ev = event(b, ev.Type, env)
		}
		events = append(events, ev)
	}
	applyAll(b, eng, "ws", events)
	benchVersion := func(id string) []Event {
		v := version(id, time.Time{}, "")
		v["deploymentId"] = "dep-0"
		return []Event{event(b, "deployment-version.created", v)}
	}
	applyAll(b, eng, "ws", benchVersion("v0"))
	clock.Set(t0.Add(time.Minute))
	completeAll(b, eng, clock.Now())
	ws, _ := eng.Workspace("ws")
	if n := len(store.Jobs.Items(ws.Store().Snapshot())); n != 10_000 {
		b.Fatalf("%d jobs for v0, want 10,000", n)
	}

	clock.Set(t0.Add(2 * time.Minute))
	// Each policy re-evaluates every target when created; the costly rules
	// come last so that the setup evaluates them once.
	rules := []map[string]any{
		{"retry": map[string]any{"maxRetries": 2}},
		{"deploymentWindow": map[string]any{"rrule": "FREQ=DAILY", "durationMinutes": 1440}},
		{"anyApproval": map[string]any{"minApprovals": 1}},
		{"gradualRollout": map[string]any{"rolloutType": "linear", "timeScaleInterval": 1}},
		{"environmentProgression": map[string]any{"dependsOnEnvironmentSelector": cel(`environment.name == "env-0"`)}},
	}
	var policies []Event
	for i, r := range rules {
		r["id"] = fmt.Sprint("rule-", i)
		policies = append(policies, event(b, "policy.created", policyOf(fmt.Sprint("p", i), "true", r)))
	}
	for _, ev := range policies {
		start := time.Now()
		applyAll(b, eng, "ws", []Event{ev})
		b.Logf("setup: %s took %s", ev.Data, time.Since(start).Round(time.Millisecond))
	}
	clock.Set(t0.Add(3 * time.Hour))
	checkPolicyBench(b, eng, ws)

	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		id := fmt.Sprint("v", i+1)
		evs := benchVersion(id)
		start := time.Now()
		if err := eng.Apply(context.Background(), "ws", evs); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		snap := ws.Store().Snapshot()
		if n := store.Jobs.Count(snap); n != 10_000 {
			b.Fatalf("%d jobs after %s, want 10,000 (the version is pending approval)", n, id)
		}
		if st, _ := store.TargetStates.Get(snap, "res-1-env-1-dep-0"); !slices.Contains(st.WaitingOn, policy.KindAnyApproval) {
			b.Fatalf("%s: target state %+v does not wait on approval", id, st)
		}
		// Back to one version, so that every iteration measures the same.
		v := map[string]any{"id": id}
		applyAll(b, eng, "ws", []Event{event(b, "deployment-version.deleted", v)})
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/version")
}

// checkPolicyBench checks that the five rules apply as described: v0 passes
// all of them on a target outside env-0, the window included.
func checkPolicyBench(b *testing.B, eng *Engine, ws *Workspace) {
	ev, err := eng.Evaluate(ws.Store().Snapshot(), "res-1-env-1-dep-0", "v0")
	if err != nil {
		b.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, pe := range ev.Policies {
		for _, r := range pe.Results {
			if !r.Allowed {
				b.Fatalf("v0: rule %s: %s", r.Kind, r.Message)
			}
			kinds[r.Kind] = true
		}
	}
	if len(ev.Policies) != 5 || len(kinds) != 4 || !ev.Allowed {
		b.Fatalf("v0 evaluation: %d policies, rule kinds %v, allowed %v", len(ev.Policies), kinds, ev.Allowed)
	}
	for _, pe := range ev.Policies {
		for _, r := range pe.Results {
			if r.Kind == policy.KindDeploymentWindow && !strings.HasPrefix(r.Message, "inside") {
				b.Fatalf("the window does not apply: %s", r.Message)
			}
		}
	}
}

// completeAll reports every pending job successful, completed now.
func completeAll(b *testing.B, eng *Engine, now time.Time) {
	ws, _ := eng.Workspace("ws")
	var evs []Event
	for _, j := range store.Jobs.Items(ws.Store().Snapshot()) {
		if j.Status == model.JobPending {
			evs = append(evs, event(b, "job.updated", map[string]any{"id": j.ID, "fieldsToUpdate": []string{"status", "completedAt"},
				"job": map[string]any{"status": model.JobSuccessful, "completedAt": now}}))
		}
	}
	applyAll(b, eng, "ws", evs)
}
