package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// TestMain_DatabasePartition drops every packet between Gatehouse and
// PostgreSQL without closing anything, as a network partition does. Events
// must be answered 503 once the database timeout passes, one after the
// other (the workspace's writer is not held for long), reads keep working,
// and after the partition writes succeed again.
func TestMain_DatabasePartition(t *testing.T) {
	proxied, proxy := proxiedDSN(t, sqltest.DSN(t, sqlstore.DialectPostgres))
	cfg := testConfig(proxied)
	cfg.DBTimeout = 300 * time.Millisecond
	m := startMainWith(t, cfg)
	c := newAPIClient(t, m.Addr(), "ws-partition")
	setupPipeline(c)
	c.mustApply("resource.created", fxResource("before", "Cluster", map[string]string{}))

	proxy.partition()
	for _, id := range []string{"lost-1", "lost-2"} {
		status, body, err := c.post("resource.created", fxResource(id, "Cluster", map[string]string{}))
		if err != nil {
			t.Fatalf("POST %s during the partition got no answer: %v", id, err)
		}
		if status != http.StatusServiceUnavailable {
			t.Fatalf("POST %s during the partition: %d %s, want 503", id, status, body)
		}
	}
	if status, _ := c.get("resources/before"); status != http.StatusOK {
		t.Errorf("read during the partition: %d, want 200", status)
	}
	proxy.heal(t)
	c.mustApply("resource.created", fxResource("after", "Cluster", map[string]string{}))
	if status, _ := c.get("resources/lost-1"); status != http.StatusNotFound {
		t.Errorf("a refused resource is visible: %d", status)
	}
}

// TestMain_RestorePartitioned cuts the database off between Open and Run:
// the restore must fail after the database timeout, naming it, instead of
// waiting for the network to come back.
func TestMain_RestorePartitioned(t *testing.T) {
	direct := sqltest.DSN(t, sqlstore.DialectPostgres)
	seed := startMain(t, direct)
	setupPipeline(newAPIClient(t, seed.Addr(), "ws-restore"))
	seed.stop(t)

	proxied, proxy := proxiedDSN(t, direct)
	cfg := testConfig(proxied)
	cfg.DBTimeout = 300 * time.Millisecond
	m := openMain(t, cfg)
	proxy.partition()
	err := m.Run(context.Background())
	if !errors.Is(err, sqlstore.ErrTimeout) || model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Errorf("restore during a partition: %v, want unavailable after the timeout", err)
	}
	// Closing the pool says goodbye to the server on every connection:
	// through a partition that takes the pool's own timeout.
	proxy.cut()
}

// TestPersist_OutcomeUnknown commits batches through the proxy while it
// plays faults at COMMIT: when the server's answer to COMMIT is lost
// (connection cut, or no answer before the timeout) the server did commit,
// and the error must say the outcome is unknown; when the connection is lost
// before COMMIT, nothing is committed and the error says it was rolled back.
func TestPersist_OutcomeUnknown(t *testing.T) {
	direct := sqltest.DSN(t, sqlstore.DialectPostgres)
	proxied, proxy := proxiedDSN(t, direct)
	var cutAt int
	db, err := sqlstore.Open(context.Background(), proxied, sqlstore.WithTimeout(500*time.Millisecond),
		sqlstore.WithStatementHook(func(n int) error {
			if n == cutAt {
				proxy.cut()
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	truth, err := sqlstore.Open(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer truth.Close()

	const ws = "ws-outcome"
	st, err := store.New(ws, store.WithPersister(db))
	if err != nil {
		t.Fatal(err)
	}
	write := func(id string) error {
		tx := st.Begin(context.Background())
		defer tx.Abort()
		if err := store.Systems.Upsert(tx, id, &model.System{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
		return tx.Commit()
	}
	stored := func(id string) bool {
		fresh, _ := store.New(ws)
		if _, err := truth.LoadWorkspace(context.Background(), ws, fresh); err != nil {
			t.Fatal(err)
		}
		return store.Systems.Has(fresh.Snapshot(), id)
	}
	if err := write("s0"); err != nil {
		t.Fatalf("a write through the healthy proxy: %v", err)
	}

	tests := []struct {
		name      string
		arm       func()
		committed bool
	}{
		{"answer to COMMIT lost with the connection", func() { proxy.swallowCommit(commitAndCut) }, true},
		{"no answer to COMMIT before the timeout", func() { proxy.swallowCommit(commitAndHang) }, true},
		{"connection lost before COMMIT", func() { cutAt = 1 }, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "s" + string(rune('1'+i))
			tt.arm()
			err := write(id)
			cutAt = 0
			if err == nil {
				t.Fatal("the write succeeded")
			}
			if model.ErrorCode(err) != model.EUNAVAILABLE {
				t.Errorf("code %s (%v), want unavailable", model.ErrorCode(err), err)
			}
			if got := sqlstore.OutcomeUnknown(err); got != tt.committed {
				t.Errorf("OutcomeUnknown = %v, want %v: %v", got, tt.committed, err)
			}
			if got := stored(id); got != tt.committed {
				t.Errorf("committed = %v, want %v: the fault did not happen where the test thinks", got, tt.committed)
			}
			proxy.heal(t)
		})
	}
	if err := write("s9"); err != nil {
		t.Fatalf("a write after the faults: %v", err)
	}
}

// TestMain_LostCommitAnswer: PostgreSQL commits an event but its answer
// to COMMIT never arrives. The caller gets 503; the producer sends the
// event again with the same id, as it must, and it changes nothing (one
// resource, one job per target); a delete whose answer was lost stays
// deleted; memory equals the database throughout, and after a restart.
func TestMain_LostCommitAnswer(t *testing.T) {
	direct := sqltest.DSN(t, sqlstore.DialectPostgres)
	proxied, proxy := proxiedDSN(t, direct)
	cfg := testConfig(proxied)
	cfg.DBTimeout = 2 * time.Second
	m := startMainWith(t, cfg)
	c := newAPIClient(t, m.Addr(), "ws-lost")
	setupPipeline(c)
	jobs := func() int { return len(c.list("jobs", "")) }
	before := jobs()

	withID := func(id, eventType string, data any) map[string]any {
		ev := c.event(eventType, data)
		ev["eventId"] = id
		return ev
	}
	create := withID("create-r9", "resource.created", fxResource("r9", "Cluster", map[string]string{}))
	proxy.swallowCommit(commitAndCut)
	if status, body := c.postEnvelopes(create); status != http.StatusServiceUnavailable {
		t.Fatalf("the event whose COMMIT answer was lost: %d %s, want 503", status, body)
	}
	if status, body := c.postEnvelopes(create); status != http.StatusAccepted {
		t.Fatalf("the redelivery: %d %s, want 202", status, body)
	}
	if status, _ := c.get("resources/r9"); status != http.StatusOK {
		t.Fatalf("r9 after the redelivery: %d", status)
	}
	made := jobs() - before
	if made == 0 {
		t.Fatal("r9's targets got no jobs")
	}
	// A decision taken again (a tick re-evaluates every target) makes no
	// second job for an attempt.
	c.mustApply("workspace.tick", map[string]any{})
	if got := jobs() - before; got != made {
		t.Fatalf("%d jobs for r9 after a re-evaluation, want %d", got, made)
	}

	proxy.swallowCommit(commitAndCut)
	if status, _ := c.postEnvelopes(c.event("resource.deleted", map[string]any{"id": "r9"})); status != http.StatusServiceUnavailable {
		t.Fatalf("the delete whose COMMIT answer was lost: %d, want 503", status)
	}
	c.mustApply("resource.created", fxResource("r10", "Cluster", map[string]string{}))
	if status, _ := c.get("resources/r9"); status != http.StatusNotFound {
		t.Fatalf("r9, deleted by the commit whose answer was lost, reads %d", status)
	}
	m.stop(t)
	again := startMain(t, direct)
	c2 := newAPIClient(t, again.Addr(), "ws-lost")
	if status, _ := c2.get("resources/r9"); status != http.StatusNotFound {
		t.Fatalf("after a restart r9 reads %d, want 404", status)
	}
	if status, _ := c2.get("resources/r10"); status != http.StatusOK {
		t.Fatalf("after a restart r10 reads %d, want 200", status)
	}
}
