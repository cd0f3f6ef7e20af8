package sqlstore_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// resourceBatch is n new resources of ws.
func resourceBatch(ws string, n int) store.Batch {
	b := store.Batch{WorkspaceID: ws, Changes: make([]store.Change, 0, n)}
	for range n {
		r := newResource(ws)
		b.Changes = append(b.Changes, store.Change{Table: store.Resources, Key: r.ID, After: r})
	}
	return b
}

// releaseJobBatch is n new releases, each followed by its job, as the engine
// writes them when a version rolls out to n targets.
func releaseJobBatch(ws string, f *fixture, n int) store.Batch {
	b := store.Batch{WorkspaceID: ws, Changes: make([]store.Change, 0, 2*n)}
	for range n {
		res := newResource(ws)
		rel := newRelease(res, f.environment.ID, f.deployment.ID, f.version)
		job := newJob(rel, f.agent, res)
		b.Changes = append(b.Changes,
			store.Change{Table: store.Releases, Key: rel.ID, After: rel},
			store.Change{Table: store.Jobs, Key: job.ID, After: job})
	}
	return b
}

// BenchmarkDB_Persist writes batches of new rows: 10,000 resources, and
// 10,000 releases with their 10,000 jobs.
func BenchmarkDB_Persist(b *testing.B) {
	ctx := context.Background()
	for _, dialect := range sqltest.Dialects(b) {
		b.Run(dialect, func(b *testing.B) {
			db := sqltest.Open(b, dialect)
			ws := randID("ws")
			f := newFixture(ws)
			cases := []struct {
				name  string
				batch func() store.Batch
			}{
				{"resources=10000", func() store.Batch { return resourceBatch(ws, 10000) }},
				{"releases+jobs=20000", func() store.Batch { return releaseJobBatch(ws, f, 10000) }},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					b.ReportAllocs()
					rows, cpu := 0, int64(0)
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						batch := c.batch()
						rows += len(batch.Changes)
						b.StartTimer()
						start := cpuTime()
						if err := db.Persist(ctx, batch); err != nil {
							b.Fatal(err)
						}
						cpu += cpuTime() - start
					}
					b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
					b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
				})
			}
		})
	}
}

// BenchmarkDB_LoadWorkspace loads a workspace of 100,000 resources into a
// fresh store.
func BenchmarkDB_LoadWorkspace(b *testing.B) {
	ctx := context.Background()
	const resources = 100000
	for _, dialect := range sqltest.Dialects(b) {
		b.Run(fmt.Sprintf("%s/resources=%d", dialect, resources), func(b *testing.B) {
			db := sqltest.Open(b, dialect)
			ws := randID("ws")
			seed(b, db, ws, resources)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				st, err := store.New(ws)
				if err != nil {
					b.Fatal(err)
				}
				counts, err := db.LoadWorkspace(ctx, ws, st)
				if err != nil {
					b.Fatal(err)
				}
				if counts["resource"] != resources {
					b.Fatalf("loaded %d resources", counts["resource"])
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

func seed(b *testing.B, db *sqlstore.DB, ws string, n int) {
	b.Helper()
	for done := 0; done < n; done += 10000 {
		if err := db.Persist(context.Background(), resourceBatch(ws, min(10000, n-done))); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime returns the CPU time (user and system, all threads) the process
// has used, in nanoseconds. Reported next to ns/op, it shows the cost of an
// operation even when other processes compete for the cores; the database
// server's CPU time (PostgreSQL) is not included.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
