package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// quietLogger drops the per-target decision lines: a million of them
// would measure the terminal.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// newVersion is the event of version i of a deployment, created i seconds
// after now so that each is the newest.
func newVersion(tb testing.TB, deployment string, i int) Event {
	return event(tb, "deployment-version.created", map[string]any{"id": fmt.Sprint(deployment, "-v", i), "tag": fmt.Sprint("v", i),
		"name": "v", "deploymentId": deployment, "status": "ready", "config": map[string]any{}, "jobAgentConfig": map[string]any{},
		"metadata": map[string]any{}, "createdAt": time.Now().Add(time.Duration(i) * time.Second)})
}

// BenchmarkMemory measures the resident state per target: the workspace of
// workload.py -E 5 -D 5 -R 1000 (25,000 targets), every target with the
// release and job of one version, in memory only. It reports the heap in
// use after a collection divided by the targets (bytes/target), the heap
// and the process's peak resident memory.
func BenchmarkMemory(b *testing.B) {
	const envs, deps, resources = 5, 5, 1000
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		eng := New(Config{Logger: quietLogger})
		applyAll(b, eng, "ws", everyResourceWorkspace(b, envs, deps, resources))
		for d := range deps {
			applyAll(b, eng, "ws", []Event{newVersion(b, fmt.Sprint("dep-", d), 0)})
		}
		ws, _ := eng.Workspace("ws")
		snap := ws.Store().Snapshot()
		targets := store.ReleaseTargets.Count(snap)
		if jobs := store.Jobs.Count(snap); targets != envs*deps*resources || jobs != targets {
			b.Fatalf("want %d targets with a job each, got %d targets and %d jobs", envs*deps*resources, targets, jobs)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(targets), "bytes/target")
		b.ReportMetric(float64(after.HeapInuse)/(1<<20), "MiB-heap")
		b.ReportMetric(procStatusMiB("VmHWM:"), "MiB-peak-rss")
		runtime.KeepAlive(eng)
	}
}

// BenchmarkLargeWorkspace builds a workspace of GATEHOUSE_BENCH_RESOURCES
// resources (100,000 by default) in 10 environments and 1 deployment on
// SQLite, 1M targets, and measures resource intake, one version's fan-out
// to every target, and a restart's restore. It takes minutes and GiBs, so
// it runs only with GATEHOUSE_BENCH_LARGE=1.
func BenchmarkLargeWorkspace(b *testing.B) {
	if os.Getenv("GATEHOUSE_BENCH_LARGE") != "1" {
		b.Skip("set GATEHOUSE_BENCH_LARGE=1 to build a workspace of a million targets")
	}
	resources := 100_000
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_RESOURCES")); err == nil && n > 0 {
		resources = n
	}
	const envs = 10
	cfg, _ := backendConfig(b, sqlstore.DialectSQLite)
	cfg.Logger = quietLogger
	for range b.N {
		eng := New(cfg)
		applyAll(b, eng, "ws", everyResourceWorkspace(b, envs, 1, 0))
		start := time.Now()
		for i := 0; i < resources; i += 1000 {
			events := make([]Event, 0, 1000)
			for j := i; j < min(i+1000, resources); j++ {
				events = append(events, event(b, "resource.created", resource(fmt.Sprint("r-", j), map[string]string{"region": "eu"})))
			}
			applyAll(b, eng, "ws", events)
		}
		b.ReportMetric(float64(resources)/time.Since(start).Seconds(), "resources/s")

		start = time.Now()
		if err := eng.Apply(context.Background(), "ws", []Event{newVersion(b, "dep-0", 0)}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/fanout")
		ws, _ := eng.Workspace("ws")
		if n := store.Jobs.Count(ws.Store().Snapshot()); n != resources*envs {
			b.Fatalf("the fan-out made %d jobs, want %d", n, resources*envs)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/float64(resources*envs), "bytes/target")
		runtime.KeepAlive(eng)

		eng, ws = nil, nil
		runtime.GC()
		fresh := New(cfg)
		start = time.Now()
		if err := fresh.Restore(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/restore")
		restored, _ := fresh.Workspace("ws")
		if n := store.Jobs.Count(restored.Store().Snapshot()); n != resources*envs {
			b.Fatalf("the restore holds %d jobs, want %d", n, resources*envs)
		}
		b.ReportMetric(procStatusMiB("VmHWM:"), "MiB-peak-rss")
		runtime.KeepAlive(fresh)
	}
}
