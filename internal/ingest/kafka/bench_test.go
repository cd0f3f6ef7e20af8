package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// BenchmarkIntake_Kafka measures events per second through Kafka into
// PostgreSQL: 12 partitions, 120 workspaces, one resource.created event
// per record (ctrlplane's shape), with one and with three consumer
// processes (in this process, each with its own engine and pool). The
// clock runs from the first record produced to the last one committed;
// the group has settled before. s-producing is how long producing took:
// consumption runs meanwhile.
//
//	GATEHOUSE_TEST_POSTGRES=... go test ./internal/ingest/kafka -run '^$' -bench BenchmarkIntake_Kafka -benchtime 1x
func BenchmarkIntake_Kafka(b *testing.B) {
	const (
		benchWorkspaces = 120
		perWorkspace    = 1000
	)
	for _, consumers := range []int{1, 3} {
		b.Run(fmt.Sprintf("consumers=%d", consumers), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				dsn := sqltest.DSN(b, sqlstore.DialectPostgres)
				brokers := newCluster(b, partitions)
				var nodes []*node
				for i := range consumers {
					nodes = append(nodes, startNode(b, brokers, dsn, fmt.Sprintf("bench-%d", i)))
				}
				waitSettled(b, nodes)
				var recs []*kgo.Record
				for i := range benchWorkspaces {
					ws := workspaceID(i)
					recs = append(recs, &kgo.Record{Key: []byte(ws), Value: value(b, envelope(ws, "system.created",
						map[string]any{"id": "sys", "name": "sys"}))})
				}
				for r := range perWorkspace {
					for i := range benchWorkspaces {
						ws := workspaceID(i)
						recs = append(recs, &kgo.Record{Key: []byte(ws), Value: value(b, resource(ws, fmt.Sprintf("r%d", r)))})
					}
				}
				b.StartTimer()
				start := time.Now()
				ends := produce(b, brokers, recs)
				produced := time.Since(start)
				waitApplied(b, nodes[0].db, ends)
				elapsed := time.Since(start)
				b.StopTimer()
				eps := float64(len(recs)) / elapsed.Seconds()
				b.ReportMetric(eps, "events/s")
				b.ReportMetric(eps/partitions, "events/s/partition")
				b.ReportMetric(produced.Seconds(), "s-producing")
				for _, n := range nodes {
					n.stop()
				}
			}
		})
	}
}

// waitSettled waits until the nodes share every partition.
func waitSettled(b *testing.B, nodes []*node) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		total, all := 0, true
		for _, n := range nodes {
			total += len(n.in.Assigned())
			all = all && len(n.in.Assigned()) > 0
		}
		if all && total == partitions {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the group did not settle")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitApplied waits until every partition's floor reached its end.
func waitApplied(b *testing.B, db *sqlstore.DB, ends map[int32]int64) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		parts, err := db.Partitions(context.Background(), topic)
		done := err == nil
		for p, end := range ends {
			done = done && parts[p].Next >= end
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the records were not applied within 10 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
