package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/custom"
	"github.com/gatehouse-dev/gatehouse/internal/agents/dispatch"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/ingest/kafka"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/ownership"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

const (
	topic = "gatehouse-events"
	group = "gatehouse-test"
)

// newCluster starts an in-process Kafka (kfake, the real wire protocol)
// with the topic, whose groups notice a silent member within a second.
func newCluster(t testing.TB, partitions int32) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// killSwitch dials Kafka until it is cut; then every connection closes and
// no new one opens, as for a process that died.
type killSwitch struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (k *killSwitch) dial(ctx context.Context, network, host string) (net.Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cut {
		return nil, errors.New("the process is dead")
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		k.conns = append(k.conns, conn)
	}
	return conn, err
}

func (k *killSwitch) Cut() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cut = true
	for _, c := range k.conns {
		_ = c.Close()
	}
}

// node is one Gatehouse process: its own database pool, engine,
// dispatcher, leases and group member, as cmd/gatehouse wires them.
type node struct {
	name   string
	db     *sqlstore.DB
	hook   atomic.Pointer[func(n int) error]
	eng    *engine.Engine
	leases *ownership.Leases
	disp   *dispatch.Dispatcher
	in     *kafka.Intake
	kill   killSwitch
	cancel context.CancelFunc
	done   chan error
	dead   atomic.Bool
	reg    *prometheus.Registry
	once   sync.Once
}

// records returns the node's count of records consumed with outcome.
func (n *node) records(outcome string) int {
	families, _ := n.reg.Gather()
	for _, f := range families {
		if f.GetName() != "gatehouse_kafka_records_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == outcome {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	return 0
}

// lag returns the sum of the node's gatehouse_partition_lag over its
// partitions.
func (n *node) lag() int {
	families, _ := n.reg.Gather()
	total := 0
	for _, f := range families {
		if f.GetName() == "gatehouse_partition_lag" {
			for _, m := range f.GetMetric() {
				total += int(m.GetGauge().GetValue())
			}
		}
	}
	return total
}

func registry(t testing.TB) agents.Registry {
	reg, err := agents.NewRegistry(custom.New())
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// startNode starts a node named name on the PostgreSQL database of dsn.
func startNode(t testing.TB, brokers []string, dsn, name string) *node {
	t.Helper()
	n := &node{name: name, done: make(chan error, 1), reg: prometheus.NewRegistry()}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	logger := slog.New(slog.DiscardHandler)
	db, err := sqlstore.Open(ctx, dsn+"&application_name="+name, sqlstore.WithStatementHook(func(i int) error {
		if h := n.hook.Load(); h != nil {
			return (*h)(i)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	n.db = db
	n.leases = ownership.NewLeases(ownership.LeaseConfig{Store: db, Owner: name, Address: name + ":8080",
		TTL: 5 * time.Second, Renew: 200 * time.Millisecond, Logger: logger,
		OnLost: func(ws, _ string) { n.eng.Unload(ws) }})
	reg := registry(t)
	n.eng = engine.New(engine.Config{Persister: db, Loader: db, Logger: logger, Agents: reg, Fence: n.leases.Fence,
		OnLoad:   func(ws string) { n.disp.Resume(ws) },
		OnUnload: func(ws string) { n.leases.Release(context.Background(), ws) },
		OnJobs:   func(ws string, jobs []*model.Job) { n.disp.Notify(ws, jobs) }})
	n.disp = dispatch.New(dispatch.Config{Engine: n.eng, Agents: reg, Owns: n.leases.Owns, Logger: logger})
	n.in, err = kafka.New(ctx, kafka.Config{Brokers: brokers, Topic: topic, Group: group, Engine: n.eng, DB: db,
		Leases: n.leases, Owner: name, Address: name + ":8080", Logger: logger, Registerer: n.reg,
		ClientOpts: []kgo.Opt{kgo.Dialer(n.kill.dial), kgo.SessionTimeout(time.Second), kgo.HeartbeatInterval(100 * time.Millisecond),
			kgo.FetchMaxWait(100 * time.Millisecond), kgo.RebalanceTimeout(5 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	n.disp.Start()
	go n.leases.Run(ctx)
	go func() { n.done <- n.in.Run(ctx) }()
	t.Cleanup(n.stop)
	return n
}

// stop shuts a node down as SIGTERM does; a killed node is only let go.
// Stopping twice does nothing more.
func (n *node) stop() { n.once.Do(n.shutdown) }

func (n *node) shutdown() {
	n.cancel()
	if n.dead.Load() {
		// Its goroutines unwind against a database and a Kafka they can no
		// longer reach; nothing waits for them.
		go n.in.Close()
		return
	}
	<-n.done
	n.in.Close()
	n.disp.Close()
	n.eng.Close()
	n.leases.ReleaseAll(context.Background())
	n.db.Close()
}

// killMidBatch lets the node run until its statement number at of its
// transactions, holds it there (mid-batch: fenced, some rows written,
// not committed) and then kills it: Kafka connections cut, leases no longer
// renewed, database sessions ended (their transactions roll back), and no
// statement of it succeeds again.
func (n *node) killMidBatch(t *testing.T, dsn string, at int64) (killed <-chan struct{}) {
	t.Helper()
	var count atomic.Int64
	reached := make(chan struct{})
	never := make(chan struct{})
	t.Cleanup(func() { close(never) })
	var once sync.Once
	hook := func(int) error {
		if n.dead.Load() {
			return errors.New("the process is dead")
		}
		if count.Add(1) == at {
			once.Do(func() { close(reached) })
			<-never
			return errors.New("the process is dead")
		}
		return nil
	}
	n.hook.Store(&hook)
	out := make(chan struct{})
	go func() {
		<-reached
		n.dead.Store(true)
		n.kill.Cut()
		n.cancel() // no more lease renewals
		sqltest.TerminateApplication(t, dsn, n.name)
		close(out)
	}()
	return out
}

// produce sends records (key, value) and returns the end offset of each
// partition afterwards.
func produce(t testing.TB, brokers []string, recs []*kgo.Record) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, r := range recs {
		r.Topic = topic
	}
	ends := map[int32]int64{}
	for _, res := range cl.ProduceSync(context.Background(), recs...) {
		if res.Err != nil {
			t.Fatalf("produce: %v", res.Err)
		}
		ends[res.Record.Partition] = max(ends[res.Record.Partition], res.Record.Offset+1)
	}
	return ends
}

// envelope is one event as a producer sends it.
func envelope(ws, eventType string, data any) map[string]any {
	return map[string]any{"eventType": eventType, "workspaceId": ws, "data": data}
}

func value(t testing.TB, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// pipeline is two environments and two deployments on a pull agent, each
// deployment with a version, all selecting every resource: each resource
// gets four release targets and four jobs.
func pipeline(ws string) []map[string]any {
	cel := map[string]any{"cel": "true"}
	evs := []map[string]any{
		envelope(ws, "system.created", map[string]any{"id": "sys", "name": "sys"}),
		envelope(ws, "job-agent.created", map[string]any{"id": "agent", "name": "agent", "type": "custom", "config": map[string]any{}}),
	}
	for _, env := range []string{"staging", "prod"} {
		evs = append(evs,
			envelope(ws, "environment.created", map[string]any{"id": env, "name": env, "resourceSelector": cel}),
			envelope(ws, "system-environment.linked", map[string]any{"systemId": "sys", "environmentId": env}))
	}
	for _, dep := range []string{"api", "worker"} {
		evs = append(evs,
			envelope(ws, "deployment.created", map[string]any{"id": dep, "name": dep, "slug": dep, "jobAgentId": "agent",
				"jobAgentConfig": map[string]any{}, "resourceSelector": cel}),
			envelope(ws, "system-deployment.linked", map[string]any{"systemId": "sys", "deploymentId": dep}),
			envelope(ws, "deployment-version.created", map[string]any{"id": dep + "-v1", "tag": "v1", "deploymentId": dep,
				"status": "ready", "config": map[string]any{}, "jobAgentConfig": map[string]any{}}))
	}
	return evs
}

func resource(ws, id string) map[string]any {
	return envelope(ws, "resource.created", map[string]any{"id": id, "name": id, "identifier": id, "kind": "Cluster",
		"version": "v1", "config": map[string]any{}, "metadata": map[string]string{}})
}

func workspaceID(i int) string { return fmt.Sprintf("ws-%03d", i) }

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 90s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
