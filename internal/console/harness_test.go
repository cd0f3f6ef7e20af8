package console

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/api"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/apply"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// The console's tests run the whole server as `gatehouse serve` mounts it
// (the API beside the console, over the engine and SQLite) in httptest,
// load the repository's examples/ with the CLI's apply code, and play the
// job agent by sending job updates, with a clock that moves only when a
// test moves it.

// testWS is the workspace the tests write to.
const testWS = "11111111-1111-1111-1111-111111111111"

// start is the time on the engine's clock until a test moves it.
var start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

type harness struct {
	t       *testing.T
	eng     *engine.Engine
	console *Console
	srv     *httptest.Server
	token   string

	mu  sync.Mutex
	now time.Time
}

type options struct {
	// token, when set, is required by the API and the console.
	token string
	// named are named tokens the API and the console also take.
	named []auth.Entry
}

func newHarness(t *testing.T, opt options) *harness {
	t.Helper()
	h := &harness{t: t, now: start, token: opt.token}
	db := sqltest.Open(t, sqlstore.DialectSQLite)
	sealer, err := secrets.New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := NewHub()
	h.eng = engine.New(engine.Config{Persister: db, Loader: db, Clock: h.clock, Logger: quiet, Sealer: sealer,
		OnCommit: hub.Publish,
		// Timers never fire: the tests move time themselves.
		AfterFunc: func(time.Duration, func()) interface{ Stop() bool } { return idle{} }})
	tokens, err := auth.New(opt.token, opt.named)
	if err != nil {
		t.Fatal(err)
	}
	h.console = New(h.eng, Config{Tokens: tokens, Hub: hub, Logger: quiet})
	h.srv = httptest.NewServer(h.console.Mount(api.New(h.eng, api.Config{Tokens: tokens, Logger: quiet})))
	t.Cleanup(func() {
		h.console.Close()
		h.srv.Close()
		h.eng.Close()
	})
	return h
}

type idle struct{}

func (idle) Stop() bool { return true }

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// advance moves the engine's clock.
func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

// applyManifests applies manifest files or directories with the CLI's
// apply code, over the API, as `gatehouse apply -f` does.
func (h *harness) applyManifests(paths ...string) {
	h.t.Helper()
	c, err := client.New(client.Options{Server: h.srv.URL, Token: h.token, Workspace: testWS})
	if err != nil {
		h.t.Fatal(err)
	}
	docs, err := manifest.Load(paths)
	if err != nil {
		h.t.Fatal(err)
	}
	opt := apply.Options{}
	for _, p := range paths {
		opt.Scope = append(opt.Scope, manifest.SourceName(p))
	}
	if _, err := apply.Run(context.Background(), c, docs, opt, false); err != nil {
		h.t.Fatalf("apply %v: %v", paths, err)
	}
}

// examples is the repository's examples/ directory.
func examples() string { return filepath.Join("..", "..", "examples") }

// writeManifest writes an extra manifest into a temporary directory and
// returns its path.
func (h *harness) writeManifest(name, content string) string {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// must applies one event to the test workspace.
func (h *harness) must(eventType string, data any) {
	h.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.eng.Apply(context.Background(), testWS, []engine.Event{{Type: eventType, Data: raw}}); err != nil {
		h.t.Fatalf("%s: %v", eventType, err)
	}
}

// read runs fn over a consistent view of the test workspace.
func (h *harness) read(fn func(r store.Reader)) {
	h.t.Helper()
	ws, ok := h.eng.Workspace(testWS)
	if !ok {
		h.t.Fatal("the test workspace does not exist")
	}
	snap, done := ws.Store().Read()
	defer done()
	fn(snap)
}

// id returns the id of the entity of table t named name.
func id[T any](h *harness, t *store.Table[T], name string, nameOf func(*T) string, idOf func(*T) string) string {
	h.t.Helper()
	var out string
	h.read(func(r store.Reader) {
		for _, v := range t.Items(r) {
			if nameOf(v) == name {
				out = idOf(v)
			}
		}
	})
	if out == "" {
		h.t.Fatalf("no %s named %q", t.Kind, name)
	}
	return out
}

func (h *harness) deployment(name string) string {
	return id(h, store.Deployments, name, func(d *model.Deployment) string { return d.Name },
		func(d *model.Deployment) string { return d.ID })
}

func (h *harness) environment(name string) string {
	return id(h, store.Environments, name, func(e *model.Environment) string { return e.Name },
		func(e *model.Environment) string { return e.ID })
}

func (h *harness) resource(name string) string {
	return id(h, store.Resources, name, func(r *model.Resource) string { return r.Name },
		func(r *model.Resource) string { return r.ID })
}

// version returns the id of a deployment's version by tag.
func (h *harness) version(deployment, tag string) string {
	dep := h.deployment(deployment)
	return id(h, store.DeploymentVersions, tag, func(v *model.DeploymentVersion) string {
		if v.DeploymentID != dep {
			return ""
		}
		return v.Tag
	}, func(v *model.DeploymentVersion) string { return v.ID })
}

// target names a release target by its deployment, environment and
// resource names.
func (h *harness) target(deployment, environment, resource string) *model.ReleaseTarget {
	return &model.ReleaseTarget{ResourceID: h.resource(resource), EnvironmentID: h.environment(environment),
		DeploymentID: h.deployment(deployment)}
}

// jobsOf returns the jobs of a deployment in an environment that are in
// one of statuses (any status when none is given), newest first.
func (h *harness) jobsOf(deployment, environment string, statuses ...string) []*model.Job {
	h.t.Helper()
	dep, env := h.deployment(deployment), h.environment(environment)
	var out []*model.Job
	h.read(func(r store.Reader) {
		for _, t := range store.TargetsByPair.Get(r, store.PairKey(env, dep)) {
			for _, j := range history.Jobs(r, t.Key()) {
				if len(statuses) == 0 || slices.Contains(statuses, j.Status) {
					out = append(out, j)
				}
			}
		}
	})
	return out
}

// finish reports a job's end as its agent would.
func (h *harness) finish(j *model.Job, status, message string) {
	h.t.Helper()
	h.advance(time.Minute)
	fields := []string{"status"}
	job := map[string]any{"status": status}
	if message != "" {
		job["message"] = message
		fields = append(fields, "message")
	}
	h.must("job.updated", map[string]any{"id": j.ID, "job": job, "fieldsToUpdate": fields})
}

// finishAll ends every processing job of a deployment in an environment.
func (h *harness) finishAll(deployment, environment, status string) {
	h.t.Helper()
	for _, j := range h.jobsOf(deployment, environment, model.JobPending, model.JobInProgress) {
		h.finish(j, status, "")
	}
}

// seed loads examples/ (and extra manifests) and plays the test runner:
// both deployments' v1.0.0 succeed in dev and staging, so that prod waits
// for its approval.
func (h *harness) seed(extra ...string) {
	h.t.Helper()
	h.applyManifests(append([]string{examples()}, extra...)...)
	for _, env := range []string{"dev", "staging"} {
		for _, d := range []string{"api", "web"} {
			h.finishAll(d, env, model.JobSuccessful)
		}
	}
}

// newVersion creates a ready version of a deployment, a minute after the
// last thing that happened.
func (h *harness) newVersion(deployment, tag string) {
	h.t.Helper()
	h.advance(time.Minute)
	h.must("deployment-version.created", map[string]any{"id": deployment + "-" + tag, "tag": tag, "name": tag,
		"deploymentId": h.deployment(deployment), "status": model.VersionReady, "config": map[string]any{},
		"jobAgentConfig": map[string]any{}, "createdAt": h.clock()})
}

// get fetches a path of the test server and returns the status and body.
func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	return h.do(http.MethodGet, path, "", h.token)
}

// do sends a request with an optional JSON body and bearer token.
func (h *harness) do(method, path, body, token string) (int, string) {
	h.t.Helper()
	resp, out := h.request(method, path, body, token, nil)
	return resp.StatusCode, out
}

func (h *harness) request(method, path, body, token string, header http.Header) (*http.Response, string) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	// Redirects are the console's answers too: not followed.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, string(out)
}

// page fetches a console page, fails the test unless it answers 200, and
// returns it parsed.
func (h *harness) page(path string) *doc {
	h.t.Helper()
	status, body := h.get(path)
	if status != http.StatusOK {
		h.t.Fatalf("GET %s: %d\n%s", path, status, body)
	}
	return parseDoc(h.t, body)
}
