package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// This file holds the HTTP helpers the end-to-end tests of this package
// share, and the test that kills the binary with SIGKILL mid-stream.

// apiClient talks to one workspace of a running Gatehouse.
type apiClient struct {
	t    testing.TB
	base string
	ws   string
	http *http.Client
}

func newAPIClient(t testing.TB, addr, ws string) *apiClient {
	// A timeout bounds a test against a hung server; no assertion depends on it.
	return &apiClient{t: t, base: "http://" + addr, ws: ws, http: &http.Client{Timeout: 30 * time.Second}}
}

// event returns one event envelope for the client's workspace.
func (c *apiClient) event(eventType string, data any) map[string]any {
	return map[string]any{"eventType": eventType, "workspaceId": c.ws, "data": data}
}

// post sends one event as one request. err is a transport error: the request
// got no answer, so the caller cannot know whether it was applied.
func (c *apiClient) post(eventType string, data any) (status int, body []byte, err error) {
	// No Fatal here: post runs on the streaming goroutines too.
	raw, err := json.Marshal(c.event(eventType, data))
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.http.Post(c.base+"/v1/workspaces/"+c.ws+"/events", "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// postEnvelopes sends envelopes as they are (an eventId included) in one
// request and returns the status and body.
func (c *apiClient) postEnvelopes(envs ...map[string]any) (int, []byte) {
	c.t.Helper()
	raw, err := json.Marshal(envs)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.http.Post(c.base+"/v1/workspaces/"+c.ws+"/events", "application/json", bytes.NewReader(raw))
	if err != nil {
		c.t.Fatalf("POST events: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// mustApply posts one event and fails the test unless it is acknowledged.
func (c *apiClient) mustApply(eventType string, data any) {
	c.t.Helper()
	status, body, err := c.post(eventType, data)
	if err != nil {
		c.t.Fatalf("POST %s: %v", eventType, err)
	}
	if status/100 != 2 {
		c.t.Fatalf("POST %s: %d %s", eventType, status, body)
	}
}

// get reads path under /v1/workspaces/{ws}/.
func (c *apiClient) get(path string) (int, []byte) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/v1/workspaces/" + c.ws + "/" + path)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// list returns every item of a collection (query may add filters).
func (c *apiClient) list(collection, query string) []json.RawMessage {
	c.t.Helper()
	path := collection + "?limit=1000000"
	if query != "" {
		path += "&" + query
	}
	status, body := c.get(path)
	if status != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
		Total int               `json:"total"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	if page.Total != len(page.Items) {
		c.t.Fatalf("GET %s: total %d but %d items: the limit cut the list", path, page.Total, len(page.Items))
	}
	return page.Items
}

// decodeAll decodes raw items into T.
func decodeAll[T any](t testing.TB, raw []json.RawMessage) []T {
	t.Helper()
	out := make([]T, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatalf("decode %s: %v", r, err)
		}
	}
	return out
}

// waitReady polls /readyz until it answers 200, the process behind it exits
// (exited closed) or a generous deadline passes.
func waitReady(t testing.TB, addr string, exited <-chan struct{}) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("server at %s exited before it was ready", addr)
		case <-tick.C:
		}
	}
	t.Fatalf("server at %s not ready within 60s", addr)
}

// Fixtures in the wire shapes of the acceptance scenarios.

func fxSystem(id string) map[string]any {
	return map[string]any{"id": id, "name": id, "metadata": map[string]string{}}
}

func fxAgent(id string) map[string]any {
	return map[string]any{"id": id, "name": id, "type": "custom", "config": map[string]any{}, "metadata": map[string]string{}}
}

func fxEnvironment(id string, sel any) map[string]any {
	return map[string]any{"id": id, "name": id, "resourceSelector": sel, "metadata": map[string]string{}}
}

func fxDeployment(id, agent string, sel any) map[string]any {
	return map[string]any{"id": id, "name": id, "slug": id, "jobAgentId": agent, "jobAgentConfig": map[string]any{},
		"resourceSelector": sel, "metadata": map[string]string{}}
}

// fxResource has no createdAt, so the engine stamps it with the time of the
// event's transaction, which the jobs of that event carry too.
func fxResource(id, kind string, metadata map[string]string) map[string]any {
	return map[string]any{"id": id, "name": id, "identifier": id, "kind": kind, "version": "v1",
		"config": map[string]any{}, "metadata": metadata}
}

func fxVersion(id, deployment string) map[string]any {
	return map[string]any{"id": id, "tag": id, "name": id, "deploymentId": deployment, "status": "ready",
		"config": map[string]any{}, "jobAgentConfig": map[string]any{}, "metadata": map[string]string{}}
}

func fxCEL(expr string) map[string]any { return map[string]any{"cel": expr} }

// setupPipeline creates one system with environment prod and deployment api
// (both selecting every resource, api on a custom agent) and version v1, so
// that every resource created afterwards gets one release target and one
// pending job in the same event.
func setupPipeline(c *apiClient) {
	c.mustApply("system.created", fxSystem("sys"))
	c.mustApply("job-agent.created", fxAgent("agent"))
	c.mustApply("environment.created", fxEnvironment("prod", fxCEL("true")))
	c.mustApply("system-environment.linked", map[string]any{"systemId": "sys", "environmentId": "prod"})
	c.mustApply("deployment.created", fxDeployment("api", "agent", fxCEL("true")))
	c.mustApply("system-deployment.linked", map[string]any{"systemId": "sys", "deploymentId": "api"})
	c.mustApply("deployment-version.created", fxVersion("v1", "api"))
}

// apiJob is the part of a job view these tests look at.
type apiJob struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	Release   *struct {
		ID            string `json:"id"`
		ReleaseTarget struct {
			ResourceID    string `json:"resourceId"`
			EnvironmentID string `json:"environmentId"`
			DeploymentID  string `json:"deploymentId"`
		} `json:"releaseTarget"`
	} `json:"release"`
}

// apiTarget is the part of a release target view these tests look at.
type apiTarget struct {
	Key            string `json:"key"`
	ResourceID     string `json:"resourceId"`
	DesiredRelease *struct {
		ID string `json:"id"`
	} `json:"desiredRelease"`
	CurrentRelease *struct {
		ID string `json:"id"`
	} `json:"currentRelease"`
	LatestJob *struct {
		ID string `json:"id"`
	} `json:"latestJob"`
}

// serverProc is a gatehouse binary running as a child process.
type serverProc struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	exited  chan struct{}
	// waitErr is cmd.Wait's answer, set before exited is closed.
	waitErr error
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildGatehouse builds this package's binary once per test process.
func buildGatehouse(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go tool is needed to build the binary: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "gatehouse-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "gatehouse")
		if out, err := exec.Command(goTool, "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// childEnv is the test process's environment without GATEHOUSE_* variables
// of the developer's shell (a token, another database), which would
// reconfigure the child behind the flags' back, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startServer runs `gatehouse serve` on dsn and waits until it is ready. The
// process is killed when the test ends; its log is shown if the test failed.
func startServer(t *testing.T, bin, dsn string, args ...string) *serverProc {
	t.Helper()
	p := launchServer(t, bin, nil, append([]string{"--db", dsn}, args...)...)
	waitReady(t, p.addr, p.exited)
	return p
}

// launchServer starts `gatehouse serve` with args and env added to the
// test's environment, without waiting for it.
func launchServer(t *testing.T, bin string, env []string, args ...string) *serverProc {
	t.Helper()
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-format", "text"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = childEnv(env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, addr: addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("server log (%s):\n%s", addr, p.log(t))
		}
	})
	return p
}

// log returns what the server has logged so far.
func (p *serverProc) log(t testing.TB) string {
	out, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// kill sends SIGKILL (no shutdown code runs) and waits for the process to
// be gone.
func (p *serverProc) kill(t testing.TB) {
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Logf("kill: %v", err)
	}
	<-p.exited
}

// streamResult is what a stream of resource.created requests achieved.
type streamResult struct {
	attempted []string // every id sent, answered or not
	acked     []string // ids answered 2xx
}

// streamUntilKilled posts resource.created events from several concurrent
// clients, so that some requests are in flight at any moment, and kills the
// server once ackedBeforeKill of them were acknowledged. Clients stop at
// their first request without an answer.
func streamUntilKilled(t *testing.T, c *apiClient, srv *serverProc, ackedBeforeKill int) streamResult {
	t.Helper()
	const clients = 4
	var (
		mu     sync.Mutex
		res    streamResult
		next   atomic.Int64
		killed atomic.Bool
		enough = make(chan struct{})
		once   sync.Once
		wg     sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			for {
				id := fmt.Sprintf("res-%05d", next.Add(1))
				mu.Lock()
				res.attempted = append(res.attempted, id)
				mu.Unlock()
				status, body, err := c.post("resource.created", fxResource(id, "Cluster", map[string]string{}))
				if err != nil {
					if !killed.Load() {
						t.Errorf("POST %s before the kill: %v", id, err)
						once.Do(func() { close(enough) })
					}
					return
				}
				if status/100 != 2 {
					t.Errorf("POST %s: %d %s", id, status, body)
					once.Do(func() { close(enough) })
					return
				}
				mu.Lock()
				res.acked = append(res.acked, id)
				n := len(res.acked)
				mu.Unlock()
				if n >= ackedBeforeKill {
					once.Do(func() { close(enough) })
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Errorf("fewer than %d events acknowledged within 60s", ackedBeforeKill)
	}
	killed.Store(true)
	srv.kill(t)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return res
}

// TestMain_KillDashNine kills the server with SIGKILL while clients stream
// events, restarts it on the same database and checks that every
// acknowledged event survived and that each event is there with all of its
// effects or not at all.
func TestMain_KillDashNine(t *testing.T) {
	bin := buildGatehouse(t)
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			dsn := sqltest.DSN(t, dialect)
			srv := startServer(t, bin, dsn)
			c := newAPIClient(t, srv.addr, "ws-kill")
			setupPipeline(c)
			res := streamUntilKilled(t, c, srv, 200)

			srv = startServer(t, bin, dsn)
			c = newAPIClient(t, srv.addr, "ws-kill")
			checkAllOrNothing(t, c, res)

			// The restored database takes writes: recovery left it usable.
			c.mustApply("resource.created", fxResource("after-restart", "Cluster", map[string]string{}))
			if n := len(c.list("jobs", "resourceId=after-restart")); n != 1 {
				t.Errorf("after restart a new resource got %d jobs, want 1", n)
			}
		})
	}
}

// checkAllOrNothing checks the restored state against what the stream
// achieved: acknowledged resources exist; every resource that exists has its
// release target and exactly one pending job created by the same
// transaction (not re-created by the restart's reconciliation); resources
// never acknowledged exist fully or not at all.
func checkAllOrNothing(t *testing.T, c *apiClient, res streamResult) {
	t.Helper()
	type resource struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"createdAt"`
	}
	present := map[string]resource{}
	for _, r := range decodeAll[resource](t, c.list("resources", "")) {
		present[r.ID] = r
	}
	targets := map[string][]apiTarget{}
	for _, tg := range decodeAll[apiTarget](t, c.list("release-targets", "")) {
		targets[tg.ResourceID] = append(targets[tg.ResourceID], tg)
	}
	jobs := map[string][]apiJob{}
	for _, j := range decodeAll[apiJob](t, c.list("jobs", "")) {
		if j.Release == nil {
			t.Fatalf("job %s has no release", j.ID)
		}
		jobs[j.Release.ReleaseTarget.ResourceID] = append(jobs[j.Release.ReleaseTarget.ResourceID], j)
	}

	for _, id := range res.acked {
		if status, body := c.get("resources/" + id); status != http.StatusOK {
			t.Errorf("acknowledged resource %s: GET answered %d %s after the restart", id, status, body)
		}
	}
	for id := range present {
		if !slices.Contains(res.attempted, id) {
			t.Errorf("resource %s exists but was never sent", id)
		}
	}
	lost := 0
	for _, id := range res.attempted {
		r, ok := present[id]
		if !ok {
			lost++
			if len(targets[id]) != 0 || len(jobs[id]) != 0 {
				t.Errorf("resource %s is absent but has %d targets and %d jobs: half an event", id, len(targets[id]), len(jobs[id]))
			}
			continue
		}
		if len(targets[id]) != 1 {
			t.Errorf("resource %s: %d release targets, want 1", id, len(targets[id]))
		}
		if js := jobs[id]; len(js) != 1 {
			t.Errorf("resource %s: %d jobs, want 1", id, len(js))
		} else if js[0].Status != "pending" || !js[0].CreatedAt.Equal(r.CreatedAt) {
			t.Errorf("resource %s (created %v): job %s is %s, created %v; want pending and created by the same event",
				id, r.CreatedAt, js[0].ID, js[0].Status, js[0].CreatedAt)
		}
	}
	t.Logf("%d sent, %d acknowledged, %d committed without an answer, %d lost with the process",
		len(res.attempted), len(res.acked), len(res.attempted)-len(res.acked)-lost, lost)
}

// TestMain removes the binary buildGatehouse built.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		_ = os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}
