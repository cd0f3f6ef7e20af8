package dispatch_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/custom"
	"github.com/gatehouse-dev/gatehouse/internal/agents/dispatch"
	"github.com/gatehouse-dev/gatehouse/internal/agents/testrunner"
	"github.com/gatehouse-dev/gatehouse/internal/agents/webhook"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// receiver is a webhook endpoint: it records each delivery's job id and
// answers with answer(n) for the n-th delivery (1-based).
type receiver struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries []string
	answer     func(n int, w http.ResponseWriter)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		id := r.Header.Get(webhook.DeliveryHeader)
		rc.mu.Lock()
		rc.deliveries = append(rc.deliveries, id)
		n := len(rc.deliveries)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w)
		} else {
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.deliveries)
}

// world is an engine with one webhook (or other) agent and a deployment on
// it over resources r1..rn, and its dispatcher.
type world struct {
	t   *testing.T
	eng *engine.Engine
	d   *dispatch.Dispatcher
	ws  string
}

func registry() agents.Registry {
	reg, err := agents.NewRegistry(webhook.New(webhook.Options{}), custom.New(), testrunner.New(testrunner.Options{}))
	if err != nil {
		panic(err)
	}
	return reg
}

func newWorld(t *testing.T, ecfg engine.Config, dcfg dispatch.Config) *world {
	t.Helper()
	w := &world{t: t, ws: "ws"}
	var d atomic.Pointer[dispatch.Dispatcher]
	ecfg.Agents = registry()
	ecfg.Logger = slog.New(slog.DiscardHandler)
	ecfg.OnJobs = func(ws string, jobs []*model.Job) {
		if x := d.Load(); x != nil {
			x.Notify(ws, jobs)
		}
	}
	w.eng = engine.New(ecfg)
	if ecfg.Loader != nil {
		if err := w.eng.Restore(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	dcfg.Engine, dcfg.Agents, dcfg.Logger = w.eng, ecfg.Agents, ecfg.Logger
	if dcfg.BaseBackoff == 0 {
		dcfg.BaseBackoff = 20 * time.Millisecond
	}
	w.d = dispatch.New(dcfg)
	d.Store(w.d)
	w.d.Start()
	t.Cleanup(func() {
		w.d.Close()
		w.eng.Close()
	})
	return w
}

func (w *world) apply(eventType string, data any) {
	w.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.eng.Apply(context.Background(), w.ws, []engine.Event{{Type: eventType, Data: raw}}); err != nil {
		w.t.Fatalf("%s: %v", eventType, err)
	}
}

// setup writes a system with environment prod and, per agent, a deployment
// using it, over the given resources; deployment d<i> uses agents[i].
func (w *world) setup(agentsByID map[string]map[string]any, deployments map[string]string, resources ...string) {
	all := map[string]any{"cel": "true"}
	w.apply("system.created", map[string]any{"id": "s", "name": "s"})
	for id, a := range agentsByID {
		a["id"], a["name"] = id, id
		w.apply("job-agent.created", a)
	}
	w.apply("environment.created", map[string]any{"id": "prod", "name": "prod", "resourceSelector": all})
	w.apply("system-environment.linked", map[string]any{"systemId": "s", "environmentId": "prod"})
	for dep, agent := range deployments {
		w.apply("deployment.created", map[string]any{"id": dep, "name": dep, "slug": dep, "jobAgentId": agent, "resourceSelector": all})
		w.apply("system-deployment.linked", map[string]any{"systemId": "s", "deploymentId": dep})
	}
	for _, r := range resources {
		w.apply("resource.created", map[string]any{"id": r, "name": r, "identifier": r, "kind": "k", "version": "v"})
	}
}

func (w *world) version(dep, id string) {
	w.apply("deployment-version.created", map[string]any{"id": id, "tag": id, "deploymentId": dep})
}

// jobs returns the workspace's jobs.
func (w *world) jobs() []*model.Job {
	ws, ok := w.eng.Workspace(w.ws)
	if !ok {
		return nil
	}
	return store.Jobs.Items(ws.Store().Snapshot())
}

// until waits for cond, failing after a generous bound (the test waits on
// outcomes, never on durations).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hookAgent(url string) map[string]any {
	return map[string]any{"type": "webhook", "config": map[string]any{"url": url}}
}

// TestDispatcher_RetriesThenGivesUp: a receiver that keeps answering 503
// gets MaxAttempts deliveries of the job, under one delivery id, and the
// job then fails as invalidIntegration with the receiver's answer.
func TestDispatcher_RetriesThenGivesUp(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	w := newWorld(t, engine.Config{}, dispatch.Config{MaxAttempts: 4})
	w.setup(map[string]map[string]any{"hook": hookAgent(rc.URL)}, map[string]string{"api": "hook"}, "r1")
	w.version("api", "v1")
	until(t, "the job to fail", func() bool {
		j := w.jobs()
		return len(j) == 1 && j[0].Status == model.JobInvalidIntegration
	})
	j := w.jobs()[0]
	if rc.count() != 4 || j.Dispatch.Attempts != 4 {
		t.Fatalf("%d deliveries, %d attempts recorded; want 4 each", rc.count(), j.Dispatch.Attempts)
	}
	for _, id := range rc.deliveries {
		if id != j.ID {
			t.Fatalf("delivery id %s, want the job id %s every time", id, j.ID)
		}
	}
	if !strings.Contains(j.Message, "gave up after 4 attempts") || !strings.Contains(j.Message, "overloaded") {
		t.Errorf("message %q does not say it gave up with the receiver's answer", j.Message)
	}
}

// TestDispatcher_SlowAgentDelaysOnlyItself: while one agent's receiver
// hangs, another agent's jobs are delivered and events keep being taken.
func TestDispatcher_SlowAgentDelaysOnlyItself(t *testing.T) {
	release := make(chan struct{})
	slow := newReceiver(t, func(_ int, w http.ResponseWriter) { <-release })
	defer close(release)
	fast := newReceiver(t, nil)
	w := newWorld(t, engine.Config{}, dispatch.Config{Concurrency: 2})
	w.setup(map[string]map[string]any{"slow": hookAgent(slow.URL), "fast": hookAgent(fast.URL)},
		map[string]string{"a": "slow", "b": "fast"}, "r1", "r2", "r3", "r4", "r5")
	w.version("a", "va")
	w.version("b", "vb")
	until(t, "the fast agent's 5 jobs", func() bool { return fast.count() == 5 })
	until(t, "the slow agent's lane to fill", func() bool { return slow.count() == 2 })
	// Intake is not held up either.
	w.apply("resource.created", map[string]any{"id": "r6", "name": "r6", "identifier": "r6", "kind": "k", "version": "v"})
	until(t, "the fast agent's job for r6", func() bool { return fast.count() == 6 })
	if n := slow.count(); n != 2 {
		t.Fatalf("the slow agent got %d deliveries at once, want its concurrency limit, 2", n)
	}
}

// TestDispatcher_ResumesAfterRestart: the outbox survives the process. A
// job whose first attempt failed, with its retry recorded for later, is
// handed over by the next process once that time has come, under the same
// id, and the delivery is recorded.
func TestDispatcher_ResumesAfterRestart(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			rc := newReceiver(t, func(n int, w http.ResponseWriter) {
				if n == 1 {
					http.Error(w, "try later", http.StatusServiceUnavailable)
				}
			})
			first := newWorld(t, engine.Config{Persister: db, Loader: db}, dispatch.Config{BaseBackoff: time.Hour})
			first.setup(map[string]map[string]any{"hook": hookAgent(rc.URL)}, map[string]string{"api": "hook"}, "r1")
			first.version("api", "v1")
			until(t, "the failed attempt to be recorded", func() bool {
				j := first.jobs()
				return len(j) == 1 && j[0].Dispatch != nil && j[0].Dispatch.Attempts == 1
			})
			jobID := first.jobs()[0].ID
			first.d.Close()
			first.eng.Close()

			// The next process starts after the retry fell due.
			later := func() time.Time { return time.Now().Add(2 * time.Hour) }
			second := newWorld(t, engine.Config{Persister: db, Loader: db, Clock: later}, dispatch.Config{Clock: later})
			until(t, "the redelivery", func() bool { return rc.count() == 2 })
			until(t, "the delivery to be recorded", func() bool {
				j := second.jobs()
				return len(j) == 1 && j[0].Dispatch != nil && !j[0].Dispatch.DispatchedAt.IsZero() && j[0].Dispatch.Attempts == 2
			})
			if rc.deliveries[1] != jobID {
				t.Fatalf("redelivered as %s, want the job id %s", rc.deliveries[1], jobID)
			}
		})
	}
}

// TestDispatcher_Metrics: dispatches are counted by type and outcome.
func TestDispatcher_Metrics(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			http.Error(w, "once", http.StatusInternalServerError)
		}
	})
	reg := prometheus.NewRegistry()
	w := newWorld(t, engine.Config{}, dispatch.Config{Registerer: reg})
	w.setup(map[string]map[string]any{"hook": hookAgent(rc.URL)}, map[string]string{"api": "hook"}, "r1")
	w.version("api", "v1")
	until(t, "the delivery", func() bool { return rc.count() == 2 })
	until(t, "the counters", func() bool {
		return testutil.ToFloat64(counter(t, reg, "gatehouse_dispatches_total", "webhook", "delivered")) == 1
	})
	if got := testutil.ToFloat64(counter(t, reg, "gatehouse_dispatches_total", "webhook", "retry")); got != 1 {
		t.Errorf("retries counted %v, want 1", got)
	}
}

// counter finds a labelled series of a registered counter vector.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := true
			for i, l := range m.GetLabel() {
				match = match && i < len(labels) && l.GetValue() == labels[i]
			}
			if match {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
			}
		}
	}
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return 0 })
}

// TestDispatcher_OutcomesOfALostWorkspaceAreDropped: an attempt that ends
// after this process lost the workspace is not recorded here (its new
// owner hands the job over again), rather than retried against an engine
// that must refuse it.
func TestDispatcher_OutcomesOfALostWorkspaceAreDropped(t *testing.T) {
	var owns atomic.Bool
	owns.Store(true)
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		<-release
		w.WriteHeader(http.StatusOK)
	})
	w := newWorld(t, engine.Config{}, dispatch.Config{Owns: func(string) bool { return owns.Load() }})
	w.setup(map[string]map[string]any{"hook": hookAgent(rc.URL)}, map[string]string{"api": "hook"}, "r1")
	w.version("api", "v1")
	until(t, "the delivery", func() bool { return rc.count() == 1 })
	owns.Store(false)
	close(release)
	w.d.Close() // waits for the attempt in hand and its recording
	j := w.jobs()[0]
	if j.Dispatch != nil && (j.Dispatch.Attempts > 0 || !j.Dispatch.DispatchedAt.IsZero()) {
		t.Errorf("the attempt was recorded by a process that no longer owns the workspace: %+v", j.Dispatch)
	}
}
