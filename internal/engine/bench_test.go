package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// Benchmarks of target maintenance and version fan-out. Run with
//
//	go test ./internal/engine -run '^$' -bench . -benchtime 1x
//
// (GATEHOUSE_TEST_POSTGRES set for the PostgreSQL cases).

func event(t testing.TB, eventType string, data any) Event {
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return Event{Type: eventType, Data: raw}
}

func applyAll(tb testing.TB, eng *Engine, ws string, events []Event) {
	tb.Helper()
	for i := 0; i < len(events); i += 500 {
		if err := eng.Apply(context.Background(), ws, events[i:min(i+500, len(events))]); err != nil {
			tb.Fatal(err)
		}
	}
}

// targetWorkspace returns the events of the shape: one system, E
// environments each selecting its own slice of resources by metadata, D
// deployments selecting every resource, R resources spread evenly over the
// environments. Each resource lands in exactly one environment, so there
// are R*D targets.
func targetWorkspace(tb testing.TB, e, d, r int) []Event {
	return workspaceEvents(tb, e, d, r, func(id string) any { return cel(fmt.Sprintf(`resource.metadata["env"] == %q`, id)) })
}

// everyResourceWorkspace is targetWorkspace with environments selecting every
// resource, so there are R*E*D targets.
func everyResourceWorkspace(tb testing.TB, e, d, r int) []Event {
	return workspaceEvents(tb, e, d, r, func(string) any { return cel("true") })
}

func workspaceEvents(tb testing.TB, e, d, r int, envSelector func(id string) any) []Event {
	evs := []Event{event(tb, "system.created", system("s")),
		event(tb, "job-agent.created", map[string]any{"id": "agent", "name": "agent", "type": "custom", "config": map[string]any{}})}
	for i := range e {
		id := fmt.Sprint("env-", i)
		evs = append(evs, event(tb, "environment.created", environment(id, envSelector(id))),
			event(tb, "system-environment.linked", linkE("s", id)))
	}
	for i := range d {
		id := fmt.Sprint("dep-", i)
		dep := deployment(id, cel("true"))
		dep["jobAgentId"] = "agent"
		evs = append(evs, event(tb, "deployment.created", dep), event(tb, "system-deployment.linked", linkD("s", id)))
	}
	for i := range r {
		evs = append(evs, event(tb, "resource.created", resource(fmt.Sprint("res-", i),
			map[string]string{"env": fmt.Sprint("env-", i%e), "region": fmt.Sprint("region-", i%5)})))
	}
	return evs
}

func BenchmarkTargets(b *testing.B) {
	const envs, deps, resources = 20, 20, 10_000
	events := targetWorkspace(b, envs, deps, resources)
	b.Run("BuildWorkspace", func(b *testing.B) {
		for range b.N {
			eng := New(Config{})
			applyAll(b, eng, "ws", events)
			ws, _ := eng.Workspace("ws")
			if n := store.ReleaseTargets.Count(ws.Store().Snapshot()); n != resources*deps {
				b.Fatalf("want %d targets, got %d", resources*deps, n)
			}
		}
	})
	eng := New(Config{})
	applyAll(b, eng, "ws", events)
	cases := []struct {
		name string
		make func(i int) []Event
	}{
		{"AddEnvironment", func(i int) []Event {
			id := fmt.Sprint("new-env-", i)
			return []Event{event(b, "environment.created", environment(id, cel(`resource.metadata["region"] == "region-1"`))),
				event(b, "system-environment.linked", linkE("s", id))}
		}},
		{"AddDeployment", func(i int) []Event {
			id := fmt.Sprint("new-dep-", i)
			return []Event{event(b, "deployment.created", deployment(id, cel(`resource.metadata["region"] == "region-2"`))),
				event(b, "system-deployment.linked", linkD("s", id))}
		}},
		{"AddResource", func(i int) []Event {
			return []Event{event(b, "resource.created", resource(fmt.Sprint("new-res-", i), map[string]string{"env": "env-3", "region": "region-3"}))}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for i := range b.N {
				if err := eng.Apply(context.Background(), "ws", c.make(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFanout measures one new version on a workspace of 10,000 targets
// (1 deployment, 10 environments, 1,000 resources every environment
// selects), until all 10,000 jobs are committed.
func BenchmarkFanout(b *testing.B) {
	backends := []string{"memory", sqlstore.DialectSQLite, sqlstore.DialectPostgres}
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			cfg := Config{}
			if backend != "memory" {
				db := sqltest.Open(b, backend)
				cfg.Persister = db
			}
			eng := New(cfg)
			events := everyResourceWorkspace(b, 10, 1, 1000)
			applyAll(b, eng, "ws", events)
			var total time.Duration
			b.ResetTimer()
			defer func() { b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/version") }()
			for i := range b.N {
				v := map[string]any{"id": fmt.Sprint("v", i), "tag": fmt.Sprint("v", i), "name": "v", "deploymentId": "dep-0",
					"status": "ready", "config": map[string]any{}, "jobAgentConfig": map[string]any{}, "metadata": map[string]any{},
					"createdAt": time.Now().Add(time.Duration(i) * time.Second)}
				start := time.Now()
				if err := eng.Apply(context.Background(), "ws", []Event{event(b, "deployment-version.created", v)}); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				// Finish the jobs so the next version is not held back by them.
				finishAll(b, eng)
				b.StartTimer()
			}
		})
	}
}

func finishAll(b *testing.B, eng *Engine) {
	ws, _ := eng.Workspace("ws")
	var evs []Event
	for _, j := range store.Jobs.Items(ws.Store().Snapshot()) {
		if j.Status == model.JobPending {
			evs = append(evs, event(b, "job.updated", map[string]any{"id": j.ID, "job": map[string]any{"id": j.ID, "status": "successful"},
				"fieldsToUpdate": []string{"status"}}))
		}
	}
	applyAll(b, eng, "ws", evs)
}
