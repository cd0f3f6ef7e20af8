package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gatehouse-dev/gatehouse/internal/ingest/kafka"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

const (
	partitions   = 12
	workspaces   = 200
	resourcesPer = 5
	// badEvery makes every badEvery-th workspace get a record refused
	// half-way: its first event applies, its second is unknown.
	badEvery = 25
	// orphans are records whose key names no workspace.
	orphans = 3
)

// workload is every workspace's records, in order: its pipeline, then one
// resource per record; some workspaces get a half-bad record, and a few
// records have no key at all.
func workload(t *testing.T) []*kgo.Record {
	var recs []*kgo.Record
	for i := range workspaces {
		ws := workspaceID(i)
		recs = append(recs, &kgo.Record{Key: []byte(ws), Value: value(t, pipeline(ws))})
		for r := range resourcesPer {
			recs = append(recs, &kgo.Record{Key: []byte(ws), Value: value(t, resource(ws, fmt.Sprintf("r%d", r)))})
			if r == 1 && i%badEvery == 0 {
				bad := []map[string]any{resource(ws, "half"), envelope(ws, "resource.exploded", map[string]any{})}
				recs = append(recs, &kgo.Record{Key: []byte(ws), Value: value(t, bad)})
			}
		}
	}
	for i := range orphans {
		recs = append(recs, &kgo.Record{Value: value(t, resource("", fmt.Sprintf("orphan-%d", i)))})
	}
	return recs
}

// TestIntake_ThreeProcessesOneKilled runs three processes (engines,
// dispatchers, leases, group members) over one PostgreSQL database on a
// topic of 12 partitions feeding 200 workspaces. One is killed in the
// middle of a transaction; its partitions move to the others. Afterwards
// every record's effects are in the database exactly once (every resource,
// four jobs each, no more; the dead letters once each), and every workspace
// a process holds in memory equals its rows.
func TestIntake_ThreeProcessesOneKilled(t *testing.T) {
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	brokers := newCluster(t, partitions)
	nodes := []*node{startNode(t, brokers, dsn, "node-a"), startNode(t, brokers, dsn, "node-b"), startNode(t, brokers, dsn, "node-c")}
	waitFor(t, "the group shares the partitions", func() bool {
		total := 0
		for _, n := range nodes {
			if len(n.in.Assigned()) == 0 {
				return false
			}
			total += len(n.in.Assigned())
		}
		return total == partitions
	})
	victim, survivors := nodes[2], nodes[:2]
	killed := victim.killMidBatch(t, dsn, 120)
	ends := produce(t, brokers, workload(t))

	<-killed
	t.Logf("killed %s mid-batch holding partitions %v", victim.name, victim.in.Assigned())
	waitFor(t, "the survivors hold every partition", func() bool {
		return len(survivors[0].in.Assigned())+len(survivors[1].in.Assigned()) == partitions
	})
	db := survivors[0].db
	ctx := context.Background()
	waitFor(t, "every partition applied to its end", func() bool {
		parts, err := db.Partitions(ctx, topic)
		if err != nil {
			return false
		}
		for p, end := range ends {
			if parts[p].Next < end {
				return false
			}
		}
		return true
	})

	for _, n := range nodes {
		t.Logf("%s: %d records applied, %d replayed (applied before a crash), %d dead-lettered", n.name,
			n.records("applied"), n.records("replayed"), n.records("dead_letter"))
	}
	for i := range workspaces {
		checkWorkspace(t, db, workspaceID(i), i%badEvery == 0)
	}
	dls, err := db.OrphanDeadLetters(ctx)
	if err != nil || len(dls) != orphans {
		t.Errorf("dead letters of records without a key: %d (%v), want %d", len(dls), err, orphans)
	}
	for _, n := range survivors {
		for _, ws := range n.eng.Workspaces() {
			if !n.leases.Owns(ws) {
				t.Errorf("%s holds %s in memory without its lease", n.name, ws)
			}
			w, _ := n.eng.Workspace(ws)
			mem := storetest.Dump(t, w.Store().Snapshot(), true)
			rows := loadRows(t, db, ws)
			for _, tbl := range store.Tables {
				if !tbl.IsDerived() && mem[tbl.TableName()] != rows[tbl.TableName()] {
					t.Errorf("%s: memory of %s differs from its rows in table %s", n.name, ws, tbl.TableName())
				}
			}
		}
	}
}

// loadRows reads ws from the database into a fresh store.
func loadRows(t *testing.T, db *sqlstore.DB, ws string) map[string]string {
	t.Helper()
	st, err := store.New(ws)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadWorkspace(context.Background(), ws, st); err != nil {
		t.Fatal(err)
	}
	return storetest.Dump(t, st.Snapshot(), true)
}

// checkWorkspace checks one workspace's rows: every resource once with its
// four jobs, one per target; bad, the half-bad record's first resource
// applied and its dead letter once.
func checkWorkspace(t *testing.T, db *sqlstore.DB, ws string, bad bool) {
	t.Helper()
	st, err := store.New(ws)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadWorkspace(context.Background(), ws, st); err != nil {
		t.Fatal(err)
	}
	snap := st.Snapshot()
	want := []string{"r0", "r1", "r2", "r3", "r4"}
	if bad {
		want = append(want, "half")
	}
	var got []string
	for _, r := range store.Resources.Items(snap) {
		got = append(got, r.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: resources %v, want %v", ws, got, want)
	}
	perResource := map[string]int{}
	perTarget := map[string]int{}
	for _, j := range store.Jobs.Items(snap) {
		tg := j.DispatchContext.Release.ReleaseTarget
		perResource[tg.ResourceID]++
		perTarget[tg.Key()]++
	}
	for _, id := range want {
		if perResource[id] != 4 {
			t.Errorf("%s: resource %s has %d jobs, want 4", ws, id, perResource[id])
		}
	}
	for key, n := range perTarget {
		if n != 1 {
			t.Errorf("%s: target %s has %d jobs, want 1", ws, key, n)
		}
	}
	dls := store.DeadLetters.Items(snap)
	switch {
	case bad && (len(dls) != 1 || dls[0].Code != model.EINVALID || dls[0].Index == nil || *dls[0].Index != 1 || dls[0].Applied != 1):
		t.Errorf("%s: dead letters %+v, want one refusing event 1 with 1 applied", ws, dls)
	case !bad && len(dls) != 0:
		t.Errorf("%s: %d dead letters, want none", ws, len(dls))
	}
	pos, err := store.ConsumerOffsets.Get(snap, model.PartitionKey(topic, kafka.PartitionOf(ws, partitions)))
	if err != nil || pos.Next == 0 {
		t.Errorf("%s: no position in its partition: %v", ws, err)
	}
}

// TestIntake_DatabaseOutagePausesConsumption: while the database refuses
// a process's writes, nothing is applied and nothing is skipped; a process
// joining meanwhile takes its share without waiting for the outage; once
// the database takes writes again consumption resumes where it stood and
// every record applies once.
func TestIntake_DatabaseOutagePausesConsumption(t *testing.T) {
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	brokers := newCluster(t, partitions)
	n := startNode(t, brokers, dsn, "node-outage")
	waitFor(t, "the node holds every partition", func() bool { return len(n.in.Assigned()) == partitions })
	var refused atomic.Int64
	down := func(int) error {
		refused.Add(1)
		return errors.New("connection refused")
	}
	n.hook.Store(&down)
	const count = 10
	var recs []*kgo.Record
	for i := range count {
		ws := workspaceID(i)
		recs = append(recs, &kgo.Record{Key: []byte(ws), Value: value(t, pipeline(ws))},
			&kgo.Record{Key: []byte(ws), Value: value(t, resource(ws, "r0"))})
	}
	ends := produce(t, brokers, recs)
	waitFor(t, "writes are refused", func() bool { return refused.Load() > 3*count })
	ctx := context.Background()
	parts, err := n.db.Partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p, end := range ends {
		if parts[p].Next != 0 {
			t.Errorf("partition %d advanced to %d (of %d) while the database refused writes", p, parts[p].Next, end)
		}
	}
	// The backlog shows: the records in hand are not applied (how many
	// depends on what the first poll brought).
	if lag := n.lag(); lag == 0 || lag > len(recs) {
		t.Errorf("partition lag %d while the database refused writes, want the records in hand (1 to %d)", lag, len(recs))
	}
	// A process joining meanwhile gets its share: the rebalance does not
	// wait for the records the first cannot apply; they are read again,
	// by whoever holds their partition.
	joiner := startNode(t, brokers, dsn, "node-joiner")
	waitFor(t, "the joiner gets partitions during the outage", func() bool {
		return len(joiner.in.Assigned()) > 0 && len(n.in.Assigned()) > 0 &&
			len(n.in.Assigned())+len(joiner.in.Assigned()) == partitions
	})
	n.hook.Store(nil)
	waitFor(t, "every partition applied once the database is back", func() bool {
		parts, err := n.db.Partitions(ctx, topic)
		if err != nil {
			return false
		}
		for p, end := range ends {
			if parts[p].Next < end {
				return false
			}
		}
		return true
	})
	waitFor(t, "the lag to come down", func() bool { return n.lag()+joiner.lag() == 0 })
	for i := range count {
		rows := loadRows(t, n.db, workspaceID(i))
		if !strings.Contains(rows["resource"], `"r0"`) || strings.Count(rows["job"], `"status":"pending"`) != 4 {
			t.Errorf("%s after the outage: resources %.200s, jobs %d", workspaceID(i), rows["resource"],
				strings.Count(rows["job"], `"status":"pending"`))
		}
	}
}

// TestIntake_CallerTravelsInTheRecord: the named caller of a request
// produced to Kafka is who the owner records it for (an approval is the
// token holder's, with its groups); a record whose caller header is not a
// caller is a dead letter naming the header.
func TestIntake_CallerTravelsInTheRecord(t *testing.T) {
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	brokers := newCluster(t, 2)
	n := startNode(t, brokers, dsn, "node-a")
	waitFor(t, "the node holds the partitions", func() bool { return len(n.in.Assigned()) == 2 })
	ctx := context.Background()
	ws := workspaceID(1)
	if out, err := n.in.Submit(ctx, ws, value(t, pipeline(ws)), len(pipeline(ws)), nil); err != nil || out.DeadLetter != nil {
		t.Fatalf("pipeline: %+v, %v", out, err)
	}
	approval := value(t, envelope(ws, "user-approval-record.created", map[string]any{"versionId": "api-v1",
		"environmentId": "prod", "status": "approved"}))
	out, err := n.in.Submit(ctx, ws, approval, 1, &model.Caller{Name: "ana", Groups: []string{"sre"}})
	if err != nil || out.DeadLetter != nil {
		t.Fatalf("approval: %+v, %v", out, err)
	}
	w, ok := n.eng.Workspace(ws)
	if !ok {
		t.Fatal("the owner does not hold the workspace")
	}
	recs := store.ApprovalsByVersionEnvironment.Get(w.Store().Snapshot(), store.ApprovalKey("api-v1", "prod"))
	if len(recs) != 1 || recs[0].UserID != "ana" || !slices.Equal(recs[0].Groups, []string{"sre"}) {
		t.Fatalf("approvals %+v, want one by ana of group sre", recs)
	}

	bad := &kgo.Record{Key: []byte(ws), Value: approval, Headers: []kgo.RecordHeader{{Key: kafka.CallerHeader, Value: []byte(`"ana"`)}}}
	before := n.records("dead_letter")
	produce(t, brokers, []*kgo.Record{bad})
	waitFor(t, "the record with a bad caller is a dead letter", func() bool { return n.records("dead_letter") > before })
	w, _ = n.eng.Workspace(ws)
	dls := store.DeadLetters.Items(w.Store().Snapshot())
	if len(dls) != 1 || dls[0].Field != "headers."+kafka.CallerHeader {
		t.Fatalf("dead letters %+v, want one naming the caller header", dls)
	}
}
