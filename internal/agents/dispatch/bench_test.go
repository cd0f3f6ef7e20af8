package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents/dispatch"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// bigWorld is a world over SQLite with n resources on one webhook agent.
func bigWorld(b *testing.B, url string, n int) *world {
	t := &testing.T{}
	db := sqltest.Open(b, sqlstore.DialectSQLite)
	w := newWorld(t, engine.Config{Persister: db, Loader: db}, dispatch.Config{})
	b.Cleanup(func() {
		w.d.Close()
		w.eng.Close()
	})
	w.setup(map[string]map[string]any{"hook": hookAgent(url)}, map[string]string{"api": "hook"})
	var events []engine.Event
	for i := range n {
		id := fmt.Sprint("r", i)
		raw, _ := json.Marshal(map[string]any{"id": id, "name": id, "identifier": id, "kind": "k", "version": "v"})
		events = append(events, engine.Event{Type: "resource.created", Data: raw})
		if len(events) == 500 || i == n-1 {
			if err := w.eng.Apply(context.Background(), w.ws, events); err != nil {
				b.Fatal(err)
			}
			events = nil
		}
	}
	return w
}

// BenchmarkDispatch_Webhook10k: one version fans out to 10,000 jobs on a
// webhook agent whose receiver answers at once; the time is until every job
// was delivered and its delivery recorded (SQLite).
func BenchmarkDispatch_Webhook10k(b *testing.B) {
	const n = 10_000
	rc := newReceiver(&testing.T{}, nil)
	defer rc.Close()
	for i := range b.N {
		b.StopTimer()
		w := bigWorld(b, rc.URL, n)
		start := rc.count()
		b.StartTimer()
		began := time.Now()
		w.version("api", fmt.Sprint("v", i))
		for rc.count()-start < n {
			time.Sleep(time.Millisecond)
		}
		delivered := time.Since(began)
		for !allDispatched(w) {
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(n)/delivered.Seconds(), "delivered/s")
		b.ReportMetric(float64(n)/time.Since(began).Seconds(), "recorded/s")
	}
}

func allDispatched(w *world) bool {
	for _, j := range w.jobs() {
		if j.Dispatch == nil || j.Dispatch.DispatchedAt.IsZero() {
			return false
		}
	}
	return true
}

// BenchmarkDispatch_SlowReceiverIntake: the latency of resource events
// while 1,000 jobs wait on a receiver that takes 200 ms per answer, against
// the same events with nothing to dispatch. Dispatch holds no workspace
// lock while it waits, so the two should match.
func BenchmarkDispatch_SlowReceiverIntake(b *testing.B) {
	slow := newReceiver(&testing.T{}, func(int, http.ResponseWriter) { time.Sleep(200 * time.Millisecond) })
	defer slow.Close()
	for _, busy := range []bool{false, true} {
		b.Run(map[bool]string{false: "idle", true: "dispatching"}[busy], func(b *testing.B) {
			w := bigWorld(b, slow.URL, 1000)
			if busy {
				w.version("api", "v1")
				for slow.count() == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			var lat []time.Duration
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprintf("new-%d", i)
				raw, _ := json.Marshal(map[string]any{"id": id, "name": id, "identifier": id, "kind": "k", "version": "v",
					"metadata": map[string]string{"x": "y"}})
				start := time.Now()
				if err := w.eng.Apply(context.Background(), w.ws, []engine.Event{{Type: "resource.created", Data: raw}}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
