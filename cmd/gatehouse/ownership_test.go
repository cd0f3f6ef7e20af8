package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// These tests run several gatehouse processes on one database, as an
// operator would, against the built binary.

// TestServe_SecondProcessOnSQLiteRefused: a second `serve` on a SQLite file
// another serves exits non-zero at once, naming the holder's pid and
// address; the first goes on serving.
func TestServe_SecondProcessOnSQLiteRefused(t *testing.T) {
	bin := buildGatehouse(t)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
	first := startServer(t, bin, dsn)
	second := launchServer(t, bin, nil, "--db", dsn)
	if code := second.exitCode(t); code == 0 {
		t.Fatal("the second process on the file exited 0")
	}
	log := second.log(t)
	pid := strconv.Itoa(first.cmd.Process.Pid)
	for _, want := range []string{"is in use", "pid " + pid, first.addr} {
		if !strings.Contains(log, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, log)
		}
	}
	if status, _ := health(second.addr, "/livez"); status != 0 {
		t.Errorf("the refused process listened (/livez %d)", status)
	}
	c := newAPIClient(t, first.addr, "ws-first")
	c.mustApply("system.created", fxSystem("sys"))
}

// TestServe_TwoProcessesOnPostgres: two `serve` on one PostgreSQL database
// share the workspaces: writes sent to either land once, in the
// workspace's owner, reads from either agree; when the owner is killed,
// the other takes its workspaces over on their next request.
func TestServe_TwoProcessesOnPostgres(t *testing.T) {
	bin := buildGatehouse(t)
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	a := startServer(t, bin, dsn)
	b := startServer(t, bin, dsn)
	onA, onB := newAPIClient(t, a.addr, "ws-shared"), newAPIClient(t, b.addr, "ws-shared")
	setupPipeline(onA)
	for i := range 20 {
		c := onA
		if i%2 == 1 {
			c = onB
		}
		c.mustApply("resource.created", fxResource(fmt.Sprintf("r%02d", i), "Cluster", map[string]string{}))
	}
	// A second workspace begun on b is b's.
	setupPipeline(newAPIClient(t, b.addr, "ws-other"))

	fromA, fromB := dumpState(t, onA), dumpState(t, onB)
	assertSameState(t, "ws-shared read from b and from a", fromB, fromA)
	if n := len(onB.list("resources", "")); n != 20 {
		t.Errorf("%d resources, want 20", n)
	}
	if n := len(onB.list("jobs", "")); n != 20 {
		t.Errorf("%d jobs, want 20 (one each: every write applied once)", n)
	}
	for _, srv := range []*serverProc{a, b} {
		status, body := health(srv.addr, "/v1/workspaces")
		if status != http.StatusOK || !strings.Contains(body, "ws-shared") || !strings.Contains(body, "ws-other") {
			t.Errorf("workspaces listed by %s: %d %s", srv.addr, status, body)
		}
	}
	if !strings.Contains(metrics(t, b.addr), `gatehouse_forwarded_requests_total{outcome="forwarded"}`) {
		t.Error("b forwarded nothing to a")
	}

	a.kill(t)
	onB.mustApply("resource.created", fxResource("after-kill", "Cluster", map[string]string{}))
	if n := len(onB.list("jobs", "")); n != 21 {
		t.Errorf("after a was killed: %d jobs, want 21", n)
	}
	assertSameState(t, "ws-shared after b took it over", withoutResource(dumpState(t, onB)), withoutResource(fromA))
}

// withoutResource leaves the collections a later resource changes out of a
// dump.
func withoutResource(d map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range d {
		if k != "resources" && k != "jobs" && k != "releases" && k != "release-targets" {
			out[k] = v
		}
	}
	return out
}

func metrics(t *testing.T, addr string) string {
	t.Helper()
	_, body := health(addr, "/metrics")
	return body
}

// startKafkaDev runs `gatehouse kafka-dev` and returns its address.
func startKafkaDev(t *testing.T, bin string) string {
	t.Helper()
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "kafka-dev.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "kafka-dev", "--addr", addr, "--partitions", "6")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = childEnv()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
	})
	waitFor(t, "kafka-dev listens", func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	return addr
}

// TestServe_KafkaGroupOneKilled: two `serve` processes sharing a consumer
// group on kafka-dev take events over HTTP (produced to the topic,
// answered once committed) and answer the same reads (forwarded to the
// partition's consumer); one is killed with SIGKILL mid-stream. Every
// acknowledged event is applied exactly once (its resource and exactly its
// one job), and the survivor serves every workspace afterwards.
func TestServe_KafkaGroupOneKilled(t *testing.T) {
	bin := buildGatehouse(t)
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	brokers := startKafkaDev(t, bin)
	args := []string{"--kafka-brokers", brokers, "--kafka-session-timeout", "2s", "--kafka-rebalance-timeout", "5s"}
	victim := startServer(t, bin, dsn, args...)
	survivor := startServer(t, bin, dsn, args...)
	waitFor(t, "the two processes share the partitions", func() bool {
		return strings.Contains(metrics(t, victim.addr), "gatehouse_partitions_assigned 3") &&
			strings.Contains(metrics(t, survivor.addr), "gatehouse_partitions_assigned 3")
	})

	c := newAPIClient(t, victim.addr, "ws-kafka")
	setupPipeline(c)
	// Reads agree whichever process is asked: the one not consuming the
	// workspace's partition forwards them to the one that does.
	assertSameState(t, "ws-kafka read from the survivor and from the victim",
		dumpState(t, newAPIClient(t, survivor.addr, "ws-kafka")), dumpState(t, c))
	if !strings.Contains(metrics(t, victim.addr)+metrics(t, survivor.addr), `gatehouse_forwarded_requests_total{outcome="forwarded"}`) {
		t.Error("neither process forwarded a read of ws-kafka to the other")
	}
	res := streamUntilKilled(t, c, victim, 150)

	onSurvivor := newAPIClient(t, survivor.addr, "ws-kafka")
	// Answered once the survivor owns the partition the victim held.
	onSurvivor.mustApply("resource.created", fxResource("after-kill", "Cluster", map[string]string{}))
	checkAllOrNothing(t, onSurvivor, streamResult{attempted: append(res.attempted, "after-kill"),
		acked: append(res.acked, "after-kill")})
	if !strings.Contains(metrics(t, survivor.addr), "gatehouse_partitions_assigned 6") {
		t.Errorf("the survivor does not hold all 6 partitions:\n%s", grepLines(metrics(t, survivor.addr), "gatehouse_partition"))
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMain_IdleWorkspacesUnload: a workspace untouched for --workspace-idle
// and holding nothing leaves memory (the gauge says so) and is loaded again,
// whole, by the next read; one with a pending job stays.
func TestMain_IdleWorkspacesUnload(t *testing.T) {
	cfg := testConfig("sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"))
	cfg.WorkspaceIdle = 50 * time.Millisecond
	rm := startMainWith(t, cfg)
	quiet := newAPIClient(t, rm.Addr(), "ws-quiet")
	quiet.mustApply("system.created", fxSystem("sys"))
	before := dumpState(t, quiet)
	busy := newAPIClient(t, rm.Addr(), "ws-busy")
	setupPipeline(busy)
	busy.mustApply("resource.created", fxResource("r1", "Cluster", map[string]string{}))

	waitFor(t, "the quiet workspace unloads", func() bool {
		_, inMemory := rm.engine.Workspace("ws-quiet")
		return !inMemory
	})
	if _, ok := rm.engine.Workspace("ws-busy"); !ok {
		t.Error("the workspace with a pending job was unloaded")
	}
	if !strings.Contains(metrics(t, rm.Addr()), "gatehouse_workspaces_loaded 1") {
		t.Errorf("gauge after the unload:\n%s", grepLines(metrics(t, rm.Addr()), "gatehouse_workspaces_loaded"))
	}
	assertSameState(t, "the quiet workspace read after its unload", dumpState(t, quiet), before)
}

// TestServe_KafkaRefusedEventAnswersAsWithoutKafka: with Kafka, an event
// the owner refuses is answered over HTTP as without Kafka (400 naming the
// field), is kept as a dead letter readable through the API, changes
// nothing, and does not hold up the partition: the next event applies.
func TestServe_KafkaRefusedEventAnswersAsWithoutKafka(t *testing.T) {
	bin := buildGatehouse(t)
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	brokers := startKafkaDev(t, bin)
	srv := startServer(t, bin, dsn, "--kafka-brokers", brokers, "--kafka-session-timeout", "2s")
	waitFor(t, "the process holds the partitions", func() bool {
		return strings.Contains(metrics(t, srv.addr), "gatehouse_partitions_assigned 6")
	})
	c := newAPIClient(t, srv.addr, "ws-refused")
	c.mustApply("system.created", fxSystem("sys"))

	status, body, err := c.post("environment.created", map[string]any{"id": "prod", "nmae": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	_ = json.Unmarshal(body, &answer)
	if status != http.StatusBadRequest || !strings.Contains(answer.Field, "nmae") {
		t.Fatalf("refused event: %d %s, want 400 naming nmae", status, body)
	}
	if n := len(c.list("environments", "")); n != 0 {
		t.Errorf("%d environments after the refused event, want 0", n)
	}
	letters := c.list("dead-letters", "")
	if len(letters) != 1 || !strings.Contains(string(letters[0]), "nmae") {
		t.Errorf("dead letters %s, want the refused record with its error", letters)
	}
	c.mustApply("environment.created", fxEnvironment("prod", fxCEL("true")))
	if n := len(c.list("environments", "")); n != 1 {
		t.Errorf("%d environments after the next event, want 1", n)
	}
}
