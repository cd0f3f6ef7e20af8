package engine

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// backendConfig returns an engine config for a benchmark backend and the
// database behind it (nil for memory).
func backendConfig(b *testing.B, backend string) (Config, *sqlstore.DB) {
	if backend == "memory" {
		return Config{}, nil
	}
	db := sqltest.Open(b, backend)
	return Config{Persister: db, Loader: db}, db
}

// BenchmarkIntake measures resource events per second through the engine
// API (no HTTP), in batches of 500, on a workspace shaped like
// shared/bench/workload.py's default: 10 environments and 1 deployment
// selecting every resource, so each resource event creates 10 targets.
//
// The "bare" shape has no environment, so it measures intake alone.
func BenchmarkIntake(b *testing.B) {
	shapes := []struct {
		name string
		envs int
	}{{"targets10", 10}, {"bare", 0}}
	for _, shape := range shapes {
		for _, backend := range []string{"memory", sqlstore.DialectSQLite, sqlstore.DialectPostgres} {
			b.Run(shape.name+"/"+backend, func(b *testing.B) { benchmarkIntake(b, backend, shape.envs) })
		}
	}
}

func benchmarkIntake(b *testing.B, backend string, envs int) {
	cfg, _ := backendConfig(b, backend)
	eng := New(cfg)
	setup := everyResourceWorkspace(b, envs, 1, 0)
	applyAll(b, eng, "ws", setup)
	const batch = 500
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := range b.N {
		events := make([]Event, batch)
		for j := range events {
			events[j] = event(b, "resource.created", resource(fmt.Sprintf("r-%d-%d", i, j), map[string]string{"region": "eu"}))
		}
		if err := eng.Apply(context.Background(), "ws", events); err != nil {
			b.Fatal(err)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkRestore measures loading a workspace of 100,000 resources (one
// environment and one deployment selecting all of them, so 100,000 targets)
// from the database: rows read, targets rebuilt, every target evaluated.
// It reports the heap in use after the restore and the process's resident
// memory.
func BenchmarkRestore(b *testing.B) {
	const resources = 100_000
	for _, backend := range []string{sqlstore.DialectSQLite, sqlstore.DialectPostgres} {
		b.Run(backend, func(b *testing.B) {
			cfg, _ := backendConfig(b, backend)
			eng := New(cfg)
			setup := everyResourceWorkspace(b, 1, 1, 0)
			applyAll(b, eng, "ws", setup)
			for i := 0; i < resources; i += 1000 {
				events := make([]Event, 1000)
				for j := range events {
					events[j] = event(b, "resource.created", resource(fmt.Sprint("r-", i+j), map[string]string{"region": "eu"}))
				}
				applyAll(b, eng, "ws", events)
			}
			eng = nil
			runtime.GC()
			b.ResetTimer()
			for range b.N {
				fresh := New(cfg)
				start := time.Now()
				if err := fresh.Restore(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/restore")
				ws, _ := fresh.Workspace("ws")
				if n := store.ReleaseTargets.Count(ws.Store().Snapshot()); n != resources {
					b.Fatalf("want %d targets after restore, got %d", resources, n)
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
				b.ReportMetric(rssMiB(), "MiB-rss")
				runtime.KeepAlive(fresh)
			}
		})
	}
}

// rssMiB reads the process's resident set size from /proc (0 elsewhere).
func rssMiB() float64 { return procStatusMiB("VmRSS:") }

// procStatusMiB reads one memory figure of /proc/self/status (VmRSS:, the
// resident set; VmHWM:, its peak) in MiB, 0 where there is no /proc.
func procStatusMiB(field string) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
