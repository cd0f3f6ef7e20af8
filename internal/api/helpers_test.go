package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// testWS is the workspace every test writes to.
const testWS = "ws-test"

// testServer is an API over a memory-only engine, served by httptest.
type testServer struct {
	t   *testing.T
	eng *engine.Engine
	srv *httptest.Server
	// token is sent as a bearer token when not empty.
	token string
}

func newTestServer(t *testing.T, ecfg engine.Config, cfg Config) *testServer {
	t.Helper()
	eng := engine.New(ecfg)
	srv := httptest.NewServer(New(eng, cfg))
	t.Cleanup(func() {
		srv.Close()
		eng.Close()
	})
	return &testServer{t: t, eng: eng, srv: srv, token: cfg.Token}
}

// do sends a request and returns the status and body.
func (ts *testServer) do(method, path, body string) (int, []byte) {
	ts.t.Helper()
	return ts.doWith(method, path, body, ts.token)
}

func (ts *testServer) doWith(method, path, body, token string) (int, []byte) {
	ts.t.Helper()
	resp, out := ts.request(method, path, body, token)
	return resp.StatusCode, out
}

// request sends a request and returns the response (body read and closed)
// and its body.
func (ts *testServer) request(method, path, body, token string) (*http.Response, []byte) {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, ts.srv.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return resp, out
}

// get GETs path and decodes a 200 answer into a generic value.
func (ts *testServer) get(path string) map[string]any {
	ts.t.Helper()
	status, body := ts.do(http.MethodGet, path, "")
	if status != http.StatusOK {
		ts.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		ts.t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return v
}

// post sends events to the test workspace and fails unless they are
// accepted.
func (ts *testServer) post(events ...map[string]any) {
	ts.t.Helper()
	var body any = events
	if len(events) == 1 {
		body = events[0]
	}
	status, resp := ts.do(http.MethodPost, "/v1/workspaces/"+testWS+"/events", mustJSON(ts.t, body))
	if status != http.StatusAccepted {
		ts.t.Fatalf("POST events: %d %s", status, resp)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func event(eventType string, data any) map[string]any {
	return map[string]any{"eventType": eventType, "workspaceId": testWS, "timestamp": 0, "data": data}
}

// targetEvents builds system s, environment prod, deployment api (with
// jobAgentId when agent is not empty), resource r1 and the links between
// them: one release target, r1-prod-api.
func targetEvents(agent string) []map[string]any {
	all := map[string]any{"cel": "true"}
	var evs []map[string]any
	if agent != "" {
		evs = append(evs, event("job-agent.created", map[string]any{"id": agent, "name": agent, "type": "custom", "config": map[string]any{}}))
	}
	dep := map[string]any{"id": "api", "name": "api", "slug": "api", "resourceSelector": all}
	if agent != "" {
		dep["jobAgentId"] = agent
	}
	return append(evs,
		event("system.created", map[string]any{"id": "s", "name": "s"}),
		event("environment.created", map[string]any{"id": "prod", "name": "prod", "resourceSelector": all, "metadata": map[string]any{}}),
		event("system-environment.linked", map[string]any{"systemId": "s", "environmentId": "prod"}),
		event("deployment.created", dep),
		event("system-deployment.linked", map[string]any{"systemId": "s", "deploymentId": "api"}),
		event("resource.created", map[string]any{"id": "r1", "name": "r1", "identifier": "r1", "kind": "Cluster",
			"version": "v1", "config": map[string]any{}, "metadata": map[string]any{}}),
	)
}

const targetKey = "r1-prod-api"

func versionEvent(id, tag string) map[string]any {
	return event("deployment-version.created", map[string]any{"id": id, "tag": tag, "name": tag, "deploymentId": "api", "status": "ready"})
}

// items returns a list answer's items, failing on any other shape.
func items(t *testing.T, page map[string]any) []any {
	t.Helper()
	it, ok := page["items"].([]any)
	if !ok {
		t.Fatalf("answer has no items array: %v", page)
	}
	return it
}

// errorOf decodes an error answer and returns its message, failing unless
// it has the shape of every error answer.
func errorOf(t *testing.T, body []byte) string {
	t.Helper()
	return errorBodyOf(t, body).Error
}

// errorBodyOf decodes an error answer, failing unless it is
// {"error": message, "code": code} with only the optional field, index and
// applied besides.
func errorBodyOf(t *testing.T, body []byte) errorBody {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatalf("error answer is not JSON: %v in %s", err, body)
	}
	for k := range fields {
		if !slices.Contains([]string{"error", "code", "field", "index", "applied"}, k) {
			t.Fatalf("error answer has field %q: %s", k, body)
		}
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error answer: %v in %s", err, body)
	}
	codes := []string{model.EINVALID, model.ENOTFOUND, model.ECONFLICT, model.EUNAVAILABLE, model.EINTERNAL, model.EUNAUTHORIZED}
	if e.Error == "" || !slices.Contains(codes, e.Code) {
		t.Fatalf("error answer is not {\"error\": message, \"code\": code}: %s", body)
	}
	return e
}
