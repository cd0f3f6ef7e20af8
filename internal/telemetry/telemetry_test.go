package telemetry

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

func event(t *testing.T, typ string, data map[string]any) engine.Event {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Event{Type: typ, Data: raw}
}

func system(t *testing.T, id string) engine.Event {
	return event(t, "system.created", map[string]any{"id": id, "name": id})
}

func TestEvents_Observe(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewEvents(reg)
	eng := engine.New(engine.Config{})
	defer eng.Close()
	apply := func(events ...engine.Event) {
		m.Observe(events, eng.Apply(context.Background(), "ws", events))
	}
	apply(system(t, "a"), system(t, "b"))
	// A partial batch: the first applied, the second refused, the third
	// never tried.
	apply(system(t, "c"), event(t, "system.created", map[string]any{"name": "no id"}), system(t, "d"))
	apply(event(t, "system.craeted", map[string]any{"id": "e"}))
	// A refused call counts every event it was given.
	eng.Refuse(engine.ErrShuttingDown)
	apply(system(t, "f"), event(t, "resource.deleted", map[string]any{"id": "r"}))

	want := `
# HELP gatehouse_events_applied_total Events applied and committed, by event type.
# TYPE gatehouse_events_applied_total counter
gatehouse_events_applied_total{type="system.created"} 3
# HELP gatehouse_events_rejected_total Events refused, by event type and error code (invalid, conflict, not_found, unavailable, internal, unauthorized).
# TYPE gatehouse_events_rejected_total counter
gatehouse_events_rejected_total{code="invalid",type="system.created"} 1
gatehouse_events_rejected_total{code="invalid",type="unknown"} 1
gatehouse_events_rejected_total{code="unavailable",type="resource.deleted"} 1
gatehouse_events_rejected_total{code="unavailable",type="system.created"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// neverFires arms timers that never run: the scheduler falls behind.
func neverFires(time.Duration, func()) interface{ Stop() bool } { return stopped{} }

type stopped struct{}

func (stopped) Stop() bool { return true }

func TestState_SchedulerLag(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	eng := engine.New(engine.Config{Clock: clk.Now, AfterFunc: neverFires})
	defer eng.Close()
	must := func(typ string, data map[string]any) {
		t.Helper()
		if err := eng.Apply(context.Background(), "ws", []engine.Event{event(t, typ, data)}); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	must("system.created", map[string]any{"id": "s", "name": "s"})
	must("job-agent.created", map[string]any{"id": "a", "name": "a", "type": "custom", "config": map[string]any{}})
	must("environment.created", map[string]any{"id": "prod", "name": "prod", "resourceSelector": map[string]any{"cel": "true"}})
	must("deployment.created", map[string]any{"id": "api", "name": "api", "slug": "api", "jobAgentId": "a",
		"resourceSelector": map[string]any{"cel": "true"}, "jobAgentConfig": map[string]any{}})
	must("system-environment.linked", map[string]any{"systemId": "s", "environmentId": "prod"})
	must("system-deployment.linked", map[string]any{"systemId": "s", "deploymentId": "api"})
	for _, r := range []string{"r1", "r2"} {
		must("resource.created", map[string]any{"id": r, "name": r, "identifier": r, "kind": "Cluster", "version": "v1",
			"config": map[string]any{}, "metadata": map[string]string{}})
	}
	// A rollout of a slot a minute: the second target is due at t0+1m.
	must("policy.created", map[string]any{"id": "p", "name": "p", "enabled": true, "selector": "true",
		"rules": []map[string]any{{"id": "r", "gradualRollout": map[string]any{"rolloutType": "linear", "timeScaleInterval": 60}}}})
	must("deployment-version.created", map[string]any{"id": "v1", "name": "v1", "tag": "v1", "deploymentId": "api",
		"config": map[string]any{}, "jobAgentConfig": map[string]any{}})

	reg := prometheus.NewRegistry()
	reg.MustRegister(NewState(eng, eng.Now))
	lag := func() float64 {
		t.Helper()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "gatehouse_scheduler_lag_seconds" {
				return f.Metric[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no gatehouse_scheduler_lag_seconds")
		return 0
	}
	if got := lag(); got != 0 {
		t.Errorf("lag %v before anything fell due, want 0", got)
	}
	clk.Set(t0.Add(90 * time.Second)) // the timer never fired
	if got := lag(); got != 30 {
		t.Errorf("lag %v, want 30 s past the second slot", got)
	}
	if n := testutil.CollectAndCount(NewState(eng, eng.Now), "gatehouse_release_targets_waiting"); n != len(waitReasons) {
		t.Errorf("%d waiting series, want one per known reason", n)
	}
}
