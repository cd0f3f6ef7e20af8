package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// runningMain is a Main started in-process the way the binary starts it.
type runningMain struct {
	*Main
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan error
	started bool
	closed  bool
}

// testConfig is the binary's default configuration on dsn, listening on a
// free loopback port.
func testConfig(dsn string) Config {
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = dsn
	return cfg
}

// startMain opens Main on dsn, runs it and waits until it is ready. It is
// stopped when the test ends unless stop was called before.
func startMain(t *testing.T, dsn string) *runningMain { return startMainWith(t, testConfig(dsn)) }

// startMainWith is startMain with a configuration of the test's own.
func startMainWith(t *testing.T, cfg Config) *runningMain {
	t.Helper()
	rm := openMain(t, cfg)
	rm.start()
	waitReady(t, rm.Addr(), rm.exited())
	return rm
}

// openMain opens Main without running it: it answers /livez, but restores
// nothing until start.
func openMain(t *testing.T, cfg Config) *runningMain {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("open main: %v", err)
	}
	rm := &runningMain{Main: m, ctx: ctx, cancel: cancel, done: make(chan error, 1)}
	t.Cleanup(func() { rm.stop(t) })
	return rm
}

// start runs Main in the background.
func (rm *runningMain) start() {
	rm.started = true
	go func() { rm.done <- rm.Run(rm.ctx) }()
}

// exited is closed once Run has returned; Run's error is then in done.
func (rm *runningMain) exited() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		err := <-rm.done
		rm.done <- err
		close(ch)
	}()
	return ch
}

// stop shuts Main down as the binary does on SIGTERM: cancel, let Run
// return, Close.
func (rm *runningMain) stop(t testing.TB) {
	if rm.closed {
		return
	}
	rm.closed = true
	rm.cancel()
	if rm.started {
		if err := <-rm.done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	rm.Close()
}

// dumpCollections are the list endpoints whose items are compared whole.
var dumpCollections = []string{
	"systems", "deployments", "environments", "resources", "resource-providers", "resource-variables",
	"deployment-versions", "deployment-variables", "deployment-variable-values", "job-agents", "policies",
	"policy-skips", "user-approval-records", "relationship-rules", "workflows", "workflow-runs", "releases", "jobs",
}

// dumpState reads the workspace through the API as canonical JSON, one
// entry per collection. Release targets are derived, so only what the
// engine decided for them is compared: desired and current release and
// latest job.
func dumpState(t testing.TB, c *apiClient) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range dumpCollections {
		items := make([]string, 0)
		for _, raw := range c.list(name, "") {
			items = append(items, canonicalJSON(t, raw))
		}
		// Lists are in key order already; sorting keeps the comparison
		// independent of that promise.
		slices.Sort(items)
		out[name] = "[" + strings.Join(items, ",\n") + "]"
	}
	var targets []string
	for _, tg := range decodeAll[apiTarget](t, c.list("release-targets", "")) {
		id := func(v *struct {
			ID string `json:"id"`
		}) string {
			if v == nil {
				return "-"
			}
			return v.ID
		}
		targets = append(targets, fmt.Sprintf("%s desired=%s current=%s latestJob=%s",
			tg.Key, id(tg.DesiredRelease), id(tg.CurrentRelease), id(tg.LatestJob)))
	}
	slices.Sort(targets)
	out["release-targets"] = strings.Join(targets, "\n")
	return out
}

// canonicalJSON re-encodes raw with sorted object keys.
func canonicalJSON(t testing.TB, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertSameState fails t for every collection whose dumps differ.
func assertSameState(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	for _, name := range append(slices.Clone(dumpCollections), "release-targets") {
		if got[name] != want[name] {
			t.Errorf("%s: %s differ\n got: %.3000s\nwant: %.3000s", what, name, got[name], want[name])
		}
	}
}

// completeJobs marks every pending job matching query with status.
func completeJobs(c *apiClient, query, status string) int {
	c.t.Helper()
	jobs := decodeAll[apiJob](c.t, c.list("jobs", "status=pending&"+query))
	for _, j := range jobs {
		c.mustApply("job.updated", map[string]any{"id": j.ID,
			"job":            map[string]any{"status": status, "completedAt": time.Now().UTC()},
			"fieldsToUpdate": []string{"status", "completedAt"}})
	}
	return len(jobs)
}

// buildRichWorkspace applies a workspace that touches every durable
// collection: selectors of both kinds, variables from every source
// (including a relationship reference), finished, failed, retried and
// pending jobs, and targets held back by a policy, released by an
// approval and by a skip.
func buildRichWorkspace(t *testing.T, c *apiClient) {
	t.Helper()
	kindCluster := `resource.kind == "Cluster"`
	c.mustApply("system.created", fxSystem("sys"))
	c.mustApply("system.created", fxSystem("sys-2"))
	c.mustApply("job-agent.created", fxAgent("agent"))
	c.mustApply("resource-provider.created", map[string]any{"id": "prov", "name": "prov", "metadata": map[string]string{}})
	c.mustApply("environment.created", fxEnvironment("staging", fxCEL(kindCluster)))
	c.mustApply("environment.created", fxEnvironment("prod", map[string]any{"json": map[string]any{
		"type": "metadata", "key": "env", "operator": "equals", "value": "prod"}}))
	c.mustApply("deployment.created", fxDeployment("api", "agent", fxCEL(kindCluster)))
	c.mustApply("deployment.created", fxDeployment("worker", "agent", map[string]any{"json": map[string]any{
		"type": "name", "operator": "starts-with", "value": "c-"}}))
	for _, env := range []string{"staging", "prod"} {
		c.mustApply("system-environment.linked", map[string]any{"systemId": "sys", "environmentId": env})
	}
	for _, dep := range []string{"api", "worker"} {
		c.mustApply("system-deployment.linked", map[string]any{"systemId": "sys", "deploymentId": dep})
	}
	c.mustApply("relationship-rule.created", map[string]any{"id": "vpc", "name": "vpc", "reference": "vpc",
		"relationshipType": "depends-on", "fromType": "resource", "toType": "resource",
		"fromSelector": fxCEL(kindCluster), "toSelector": fxCEL(`resource.kind == "Network"`),
		"matcher": map[string]any{"properties": []map[string]any{
			{"fromProperty": []string{"metadata", "vpc"}, "toProperty": []string{"identifier"}, "operator": "equals"}}}})

	net := fxResource("net-1", "Network", map[string]string{})
	net["config"] = map[string]any{"cidr": "10.0.0.0/16"}
	net["providerId"] = "prov"
	c.mustApply("resource.created", net)
	c.mustApply("resource.created", fxResource("c-prod", "Cluster", map[string]string{"env": "prod", "vpc": "net-1"}))
	c.mustApply("resource.created", fxResource("c-stage", "Cluster", map[string]string{"env": "staging", "vpc": "net-1"}))
	c.mustApply("resource.created", fxResource("gone", "Cluster", map[string]string{"env": "prod"}))
	c.mustApply("resource.deleted", fxResource("gone", "Cluster", map[string]string{"env": "prod"}))
	c.mustApply("resource-variable.created", map[string]any{"resourceId": "c-prod", "key": "replicas", "value": 5})

	c.mustApply("deployment-variable.created", map[string]any{"id": "replicas", "deploymentId": "api", "key": "replicas", "defaultValue": 1})
	c.mustApply("deployment-variable-value.created", map[string]any{"id": "replicas-stage", "deploymentVariableId": "replicas",
		"priority": 10, "value": 2, "resourceSelector": fxCEL(`resource.metadata["env"] == "staging"`)})
	c.mustApply("deployment-variable.created", map[string]any{"id": "cidr", "deploymentId": "api", "key": "cidr", "defaultValue": "none"})
	c.mustApply("deployment-variable-value.created", map[string]any{"id": "cidr-ref", "deploymentVariableId": "cidr",
		"priority": 1, "value": map[string]any{"reference": "vpc", "path": []string{"config", "cidr"}}, "resourceSelector": fxCEL("true")})

	c.mustApply("deployment-version.created", fxVersion("api-1", "api"))
	c.mustApply("deployment-version.created", fxVersion("worker-1", "worker"))
	if n := completeJobs(c, "", "successful"); n != 6 {
		t.Fatalf("first versions made %d pending jobs, want 6 (3 resource-environment pairs x 2 deployments)", n)
	}

	// From now on prod needs one approval; a failure in staging is retried once.
	c.mustApply("policy.created", map[string]any{"id": "gate", "name": "gate", "enabled": true, "priority": 1,
		"selector": `environment.name == "prod"`, "metadata": map[string]string{},
		"rules": []map[string]any{{"id": "gate-approval", "anyApproval": map[string]any{"minApprovals": 1}}}})
	c.mustApply("policy.created", map[string]any{"id": "retry", "name": "retry", "enabled": true,
		"selector": `environment.name == "staging"`, "metadata": map[string]string{},
		"rules": []map[string]any{{"id": "retry-once", "retry": map[string]any{"maxRetries": 1}}}})
	c.mustApply("deployment-version.created", fxVersion("api-2", "api"))
	c.mustApply("deployment-version.created", fxVersion("worker-2", "worker"))
	c.mustApply("user-approval-record.created", map[string]any{"versionId": "api-2", "environmentId": "prod",
		"userId": "alice", "status": "approved"})
	c.mustApply("policy-skip.created", map[string]any{"id": "skip-worker-2", "versionId": "worker-2",
		"environmentId": "prod", "ruleId": "gate-approval", "reason": "hotfix", "createdBy": "bob"})
	completeJobs(c, "deploymentId=api&environmentId=staging", "failure") // retried: a new pending job
	completeJobs(c, "deploymentId=worker", "successful")
	c.mustApply("deployment-version.created", fxVersion("worker-3", "worker")) // held back in prod: no approval

	c.mustApply("workflow.created", map[string]any{"id": "wf", "name": "wf", "inputs": []any{}, "jobs": []any{}})
	c.mustApply("workflow-run.created", map[string]any{"id": "wf-run", "workflowId": "wf", "inputs": map[string]any{}})
}

// TestMain_RestoreEqualsState stops Main and starts a new one on the same
// database: everything the read API shows must come back unchanged, the
// decisions of the engine (desired and current release, latest job)
// included.
func TestMain_RestoreEqualsState(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			dsn := sqltest.DSN(t, dialect)
			first := startMain(t, dsn)
			c := newAPIClient(t, first.Addr(), "ws-rich")
			buildRichWorkspace(t, c)
			before := dumpState(t, c)
			for name, items := range before {
				// Each collection must hold something, or the comparison
				// proves nothing about it.
				if items == "[]" || items == "" {
					t.Errorf("the fixture left %s empty", name)
				}
			}
			first.stop(t)

			second := startMain(t, dsn)
			c = newAPIClient(t, second.Addr(), "ws-rich")
			assertSameState(t, "after restart", dumpState(t, c), before)
		})
	}
}
