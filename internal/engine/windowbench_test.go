package engine

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// BenchmarkWindowPolicyEvent measures one policy event holding four of the
// costliest deployment windows still accepted (see the policy package's
// BenchmarkDeploymentWindow_WorstAccepted) on a workspace of 1,000 targets
// that all have a current release, so every window applies: the write-time
// checks of the four rules, then every target evaluated under them. For
// comparison, the same event with four daily windows.
//
//	go test ./internal/engine -run '^$' -bench BenchmarkWindowPolicyEvent -benchtime 20x
func BenchmarkWindowPolicyEvent(b *testing.B) {
	b.Run("worst accepted", func(b *testing.B) {
		benchmarkWindowPolicyEvent(b, []map[string]any{
			{"rrule": "FREQ=MINUTELY", "durationMinutes": 300},
			{"rrule": "FREQ=MINUTELY;INTERVAL=7", "durationMinutes": 300},
			{"rrule": "DTSTART:19700101T000000Z\nRRULE:FREQ=SECONDLY;INTERVAL=60", "durationMinutes": 300},
			{"rrule": "DTSTART:20250815T000000Z\nRRULE:FREQ=HOURLY;COUNT=5000", "durationMinutes": 30},
		})
	})
	b.Run("daily", func(b *testing.B) {
		daily := map[string]any{"rrule": "FREQ=DAILY;BYHOUR=9", "durationMinutes": 60}
		benchmarkWindowPolicyEvent(b, []map[string]any{daily, daily, daily, daily})
	})
}

func benchmarkWindowPolicyEvent(b *testing.B, windows []map[string]any) {
	at := time.Date(2026, 3, 10, 4, 59, 0, 0, time.UTC)
	clock := &fakeClock{now: at.Add(-time.Hour)}
	eng := New(Config{Clock: clock.Now, Logger: slog.New(slog.DiscardHandler),
		AfterFunc: func(time.Duration, func()) interface{ Stop() bool } { return idleTimer{} }})
	defer eng.Close()
	applyAll(b, eng, "ws", targetWorkspace(b, 1, 1, 1000))
	v := version("v0", time.Time{}, "")
	v["deploymentId"] = "dep-0"
	applyAll(b, eng, "ws", []Event{event(b, "deployment-version.created", v)})
	completeAll(b, eng, clock.Now())
	clock.Set(at)

	policyEvent := func(i int) Event {
		var rules []map[string]any
		for j, w := range windows {
			rules = append(rules, map[string]any{"id": fmt.Sprint("w", j), "deploymentWindow": w})
		}
		p := policyOf("windows", "true", rules...)
		p["description"] = fmt.Sprint("edit ", i) // a real change every time
		return event(b, "policy.updated", p)
	}
	applyAll(b, eng, "ws", []Event{policyEvent(0)})
	ws, _ := eng.Workspace("ws")
	if n := store.ReleaseTargets.Count(ws.Store().Snapshot()); n != 1000 {
		b.Fatalf("%d targets, want 1,000", n)
	}
	ev, err := eng.Evaluate(ws.Store().Snapshot(), "res-1-env-0-dep-0", "v0")
	if err != nil || len(ev.Policies) != 1 || len(ev.Policies[0].Results) != len(windows) {
		b.Fatalf("evaluation under the windows: %+v, %v", ev, err)
	}

	b.ResetTimer()
	for i := range b.N {
		applyAll(b, eng, "ws", []Event{policyEvent(i + 1)})
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/event")
}
