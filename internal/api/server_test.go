package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
)

const eventsPath = "/v1/workspaces/" + testWS + "/events"

func TestServer_PostEvents(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	evs := targetEvents("a")

	// One envelope.
	status, body := ts.do(http.MethodPost, eventsPath, mustJSON(t, evs[0]))
	if status != http.StatusAccepted || strings.TrimSpace(string(body)) != `{"applied":1}` {
		t.Fatalf("one envelope: %d %s, want 202 {\"applied\":1}", status, body)
	}
	// An array, the workspace id left to the path for one of them.
	rest := evs[1:]
	delete(rest[0], "workspaceId")
	status, body = ts.do(http.MethodPost, eventsPath, mustJSON(t, rest))
	if want := fmt.Sprintf(`{"applied":%d}`, len(rest)); status != http.StatusAccepted || strings.TrimSpace(string(body)) != want {
		t.Fatalf("array: %d %s, want 202 %s", status, body, want)
	}

	page := ts.get("/v1/workspaces/" + testWS + "/release-targets")
	its := items(t, page)
	if len(its) != 1 || page["total"] != float64(1) {
		t.Fatalf("release targets = %v, want one", page)
	}
	rt := its[0].(map[string]any)
	if rt["key"] != targetKey || rt["resourceId"] != "r1" || rt["environmentId"] != "prod" || rt["deploymentId"] != "api" {
		t.Errorf("release target = %v", rt)
	}
	if rt["reason"] != "no version passes" {
		t.Errorf("reason = %v, want \"no version passes\"", rt["reason"])
	}
	for q, want := range map[string]int{"deploymentId=api": 1, "environmentId=prod": 1, "resourceId=r1": 1,
		"deploymentId=api&environmentId=prod": 1, "deploymentId=other": 0, "resourceId=r1&environmentId=dev": 0} {
		if got := len(items(t, ts.get("/v1/workspaces/"+testWS+"/release-targets?"+q))); got != want {
			t.Errorf("release-targets?%s: %d items, want %d", q, got, want)
		}
	}
	ts.get("/v1/workspaces/" + testWS + "/release-targets/" + targetKey)
	if status, _ := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/release-targets/nope", ""); status != http.StatusNotFound {
		t.Errorf("unknown release target: %d, want 404", status)
	}
	if ws := items(t, ts.get("/v1/workspaces")); len(ws) != 1 || ws[0].(map[string]any)["id"] != testWS {
		t.Errorf("workspaces = %v", ws)
	}

	// Evaluate needs a version; with one, the target gets a release and a job.
	if status, body := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/release-targets/"+targetKey+"/evaluate", ""); status != http.StatusNotFound {
		t.Errorf("evaluate without versions: %d %s, want 404", status, body)
	}
	ts.post(versionEvent("v1", "1.0.0"))
	ev := ts.get("/v1/workspaces/" + testWS + "/release-targets/" + targetKey + "/evaluate?versionId=v1")
	if ev["allowed"] != true || ev["version"].(map[string]any)["id"] != "v1" || ev["releaseTarget"].(map[string]any)["resourceId"] != "r1" {
		t.Errorf("evaluation = %v", ev)
	}
	if status, _ := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/release-targets/"+targetKey+"/evaluate?versionId=nope", ""); status != http.StatusNotFound {
		t.Errorf("evaluate unknown version: %d, want 404", status)
	}
	rt = ts.get("/v1/workspaces/" + testWS + "/release-targets/" + targetKey)
	if rt["desiredRelease"] == nil || rt["latestJob"] == nil {
		t.Errorf("after a version the target has no desired release or job: %v", rt)
	}
	jobs := items(t, ts.get("/v1/workspaces/"+testWS+"/jobs?deploymentId=api&status=pending&jobAgentId=a"))
	if len(jobs) != 1 || jobs[0].(map[string]any)["release"] == nil {
		t.Fatalf("pending jobs = %v, want one with its release", jobs)
	}
	id := jobs[0].(map[string]any)["id"].(string)
	if j := ts.get("/v1/workspaces/" + testWS + "/jobs/" + id); j["release"] == nil {
		t.Errorf("job %s has no release: %v", id, j)
	}
	if got := len(items(t, ts.get("/v1/workspaces/"+testWS+"/jobs?status=successful"))); got != 0 {
		t.Errorf("successful jobs: %d, want 0", got)
	}
	if status, _ := ts.do(http.MethodGet, "/v1/workspaces/nope/resources", ""); status != http.StatusNotFound {
		t.Errorf("unknown workspace: %d, want 404", status)
	}
}

// workspaceState returns every listing of the test workspace, to compare
// before and after a refused request.
func workspaceState(ts *testServer) string {
	ts.t.Helper()
	var b strings.Builder
	names := append([]string{"release-targets", "jobs"}, slices.Sorted(maps.Keys(collections))...)
	for _, name := range names {
		status, body := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/"+name+"?limit=1000000", "")
		fmt.Fprintf(&b, "%s %d %s\n", name, status, body)
	}
	return b.String()
}

func TestServer_BadInput(t *testing.T) {
	bigName := strings.Repeat("x", 2048)
	cases := []struct {
		name     string
		maxBody  int64
		body     string
		status   int
		contains string
		// absent is a path that must answer 404 afterwards.
		absent string
	}{
		{name: "malformed JSON", body: `{"eventType": "system.created", "data": {`, status: 400, contains: "malformed JSON"},
		{name: "not JSON", body: `not json at all`, status: 400},
		{name: "empty body", body: ` `, status: 400},
		{name: "missing event type", body: mustJSON(t, map[string]any{"data": map[string]any{}}), status: 400, contains: "eventType"},
		{name: "unknown event type", body: mustJSON(t, []any{event("no-such.event", map[string]any{})}), status: 400, contains: "event type"},
		{name: "missing id", body: mustJSON(t, []any{event("resource.created", map[string]any{"name": "no-id", "identifier": "no-id"})}),
			status: 400, contains: "resource.id"},
		{name: "workspace id differs from path", body: mustJSON(t, map[string]any{"eventType": "system.created", "workspaceId": "other",
			"data": map[string]any{"id": "s2", "name": "s2"}}), status: 400, contains: "workspaceId", absent: "/systems/s2"},
		{name: "selector does not compile", body: mustJSON(t, []any{event("environment.created", map[string]any{"id": "broken", "name": "broken",
			"metadata": map[string]any{}, "resourceSelector": map[string]any{"cel": "resource.name ==="}})}),
			status: 400, contains: "selector", absent: "/environments/broken"},
		{name: "selector neither cel nor json", body: mustJSON(t, []any{event("deployment.created", map[string]any{"id": "d2", "name": "d2",
			"resourceSelector": map[string]any{"cell": "true"}})}), status: 400, contains: "selector", absent: "/deployments/d2"},
		{name: "link to a missing deployment", body: mustJSON(t, []any{event("system-deployment.linked",
			map[string]any{"systemId": "s", "deploymentId": "missing"})}), status: 400, contains: "missing"},
		{name: "bad batch changes nothing", body: `[` + mustJSON(t, event("system.created", map[string]any{"id": "s3", "name": "s3"})) +
			`, {"eventType": ""}]`, status: 400, contains: "eventType", absent: "/systems/s3"},
		{name: "body over the limit", maxBody: 512, body: mustJSON(t, []any{event("system.created", map[string]any{"id": "s4", "name": bigName})}),
			status: 413, absent: "/systems/s4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, engine.Config{}, Config{MaxBodyBytes: c.maxBody})
			// Seed through the engine so that a small body limit does not
			// stand in the way.
			for _, e := range targetEvents("a") {
				data, _ := json.Marshal(e["data"])
				if err := ts.eng.Apply(context.Background(), testWS, []engine.Event{{Type: e["eventType"].(string), Data: data}}); err != nil {
					t.Fatalf("seed %s: %v", e["eventType"], err)
				}
			}
			before := workspaceState(ts)
			status, body := ts.do(http.MethodPost, eventsPath, c.body)
			if status != c.status {
				t.Fatalf("status %d (%s), want %d", status, body, c.status)
			}
			msg := errorOf(t, body)
			if !strings.Contains(msg, c.contains) {
				t.Errorf("error %q does not mention %q", msg, c.contains)
			}
			if c.absent != "" {
				if status, body := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+c.absent, ""); status != http.StatusNotFound {
					t.Errorf("GET %s after refusal: %d %s, want 404", c.absent, status, body)
				}
			}
			if after := workspaceState(ts); after != before {
				t.Errorf("workspace changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestServer_Pagination(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	var evs []map[string]any
	for i := range 5 {
		id := fmt.Sprintf("r%d", i)
		evs = append(evs, event("resource.created", map[string]any{"id": id, "name": id, "identifier": id}))
	}
	ts.post(evs...)
	base := "/v1/workspaces/" + testWS + "/resources"

	ids := func(page map[string]any) []string {
		var out []string
		for _, it := range items(t, page) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out
	}
	for _, c := range []struct {
		query                string
		ids                  string
		total, limit, offset float64
	}{
		{"", "r0,r1,r2,r3,r4", 5, 100, 0},
		{"?limit=2", "r0,r1", 5, 2, 0},
		{"?limit=2&offset=1", "r1,r2", 5, 2, 1},
		{"?limit=2&offset=4", "r4", 5, 2, 4},
		{"?offset=5", "", 5, 100, 5},
		{"?offset=99", "", 5, 100, 99},
		{"?limit=1000000", "r0,r1,r2,r3,r4", 5, 1000000, 0},
	} {
		page := ts.get(base + c.query)
		if got := strings.Join(ids(page), ","); got != c.ids {
			t.Errorf("%s: ids %q, want %q", c.query, got, c.ids)
		}
		if page["total"] != c.total || page["limit"] != c.limit || page["offset"] != c.offset {
			t.Errorf("%s: total/limit/offset = %v/%v/%v, want %v/%v/%v", c.query,
				page["total"], page["limit"], page["offset"], c.total, c.limit, c.offset)
		}
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=1000001", "limit=abc", "limit=1.5", "offset=-1", "offset=x"} {
		for _, path := range []string{base, "/v1/workspaces/" + testWS + "/jobs", "/v1/workspaces/" + testWS + "/release-targets", "/v1/workspaces"} {
			status, body := ts.do(http.MethodGet, path+"?"+q, "")
			if status != http.StatusBadRequest {
				t.Errorf("%s?%s: %d %s, want 400", path, q, status, body)
				continue
			}
			field := strings.SplitN(q, "=", 2)[0]
			if msg := errorOf(t, body); !strings.Contains(msg, field) {
				t.Errorf("%s?%s: error %q does not name %s", path, q, msg, field)
			}
		}
	}
}

func TestServer_Auth(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{Token: "s3cret", Ready: func() error { return nil }})
	ts.post(targetEvents("")...)
	for _, path := range []string{"/v1/workspaces", "/v1/workspaces/" + testWS + "/resources", "/v1/workspaces/" + testWS + "/release-targets/" + targetKey} {
		for _, token := range []string{"", "wrong", "s3cre", "S3CRET"} {
			resp, body := ts.request(http.MethodGet, path, "", token)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", path, token, resp.StatusCode)
				continue
			}
			errorOf(t, body)
			challenge := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, "Bearer ") {
				t.Errorf("GET %s with token %q: WWW-Authenticate %q, want a Bearer challenge", path, token, challenge)
			}
			if token != "" && !strings.Contains(challenge, `error="invalid_token"`) {
				t.Errorf("GET %s with a wrong token: WWW-Authenticate %q does not say invalid_token", path, challenge)
			}
		}
		if status, body := ts.doWith(http.MethodGet, path, "", "s3cret"); status != http.StatusOK {
			t.Errorf("GET %s with the token: %d %s, want 200", path, status, body)
		}
	}
	sys := mustJSON(t, event("system.created", map[string]any{"id": "s9", "name": "s9"}))
	if status, _ := ts.doWith(http.MethodPost, eventsPath, sys, ""); status != http.StatusUnauthorized {
		t.Errorf("POST events without token: %d, want 401", status)
	}
	if status, _ := ts.doWith(http.MethodGet, "/v1/workspaces/"+testWS+"/systems/s9", "", "s3cret"); status != http.StatusNotFound {
		t.Errorf("an unauthorized event was applied: GET systems/s9 answered %d", status)
	}
	// A raw header other than "Bearer <token>" is refused too; the scheme's
	// case does not matter (RFC 7235).
	for header, want := range map[string]int{"s3cret": 401, "Basic s3cret": 401, "Bearer": 401, "bearer s3cret": 200, "BEARER s3cret": 200} {
		req, _ := http.NewRequest(http.MethodGet, ts.srv.URL+"/v1/workspaces", nil)
		req.Header.Set("Authorization", header)
		resp, err := ts.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: %d, want %d", header, resp.StatusCode, want)
		}
	}
	for _, path := range []string{"/livez", "/readyz", "/openapi.json"} {
		if status, body := ts.doWith(http.MethodGet, path, "", ""); status != http.StatusOK {
			t.Errorf("GET %s without token: %d %s, want 200", path, status, body)
		}
	}
}

func TestServer_Readyz(t *testing.T) {
	notReady := errors.New("restoring workspaces")
	ts := newTestServer(t, engine.Config{}, Config{Ready: func() error { return notReady }})
	if status, body := ts.do(http.MethodGet, "/readyz", ""); status != http.StatusServiceUnavailable || !strings.Contains(string(body), "restoring workspaces") {
		t.Errorf("not ready: %d %s, want 503 saying why", status, body)
	}
	notReady = nil
	if status, _ := ts.do(http.MethodGet, "/readyz", ""); status != http.StatusOK {
		t.Errorf("ready: %d, want 200", status)
	}
}

func TestServer_Redeploy409(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(targetEvents("a")...)
	ts.post(versionEvent("v1", "1.0.0"))

	jobs := items(t, ts.get("/v1/workspaces/"+testWS+"/jobs"))
	if len(jobs) != 1 || jobs[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("jobs = %v, want one pending", jobs)
	}
	deploy := mustJSON(t, event("release-target.deploy", map[string]any{"resourceId": "r1", "environmentId": "prod", "deploymentId": "api"}))
	status, body := ts.do(http.MethodPost, eventsPath, deploy)
	if status != http.StatusConflict {
		t.Fatalf("redeploy with a pending job: %d %s, want 409", status, body)
	}
	errorOf(t, body)
	if got := len(items(t, ts.get("/v1/workspaces/"+testWS+"/jobs"))); got != 1 {
		t.Errorf("refused redeploy left %d jobs, want 1", got)
	}

	// Once the job finished, a redeploy is accepted and makes a new job.
	id := jobs[0].(map[string]any)["id"].(string)
	ts.post(event("job.updated", map[string]any{"id": id, "job": map[string]any{"status": "successful"}, "fieldsToUpdate": []string{"status"}}))
	ts.post(event("release-target.deploy", map[string]any{"resourceId": "r1", "environmentId": "prod", "deploymentId": "api"}))
	if got := len(items(t, ts.get("/v1/workspaces/"+testWS+"/jobs"))); got != 2 {
		t.Errorf("after redeploy %d jobs, want 2", got)
	}
	if status, _ := ts.do(http.MethodPost, eventsPath, mustJSON(t, event("release-target.deploy",
		map[string]any{"resourceId": "nope", "environmentId": "prod", "deploymentId": "api"}))); status != http.StatusNotFound {
		t.Errorf("redeploy of a missing target: %d, want 404", status)
	}
}

func TestServer_SensitiveValueNeverInClear(t *testing.T) {
	const secret = "hunter2"
	variableEvents := func() []map[string]any {
		return []map[string]any{
			event("deployment-variable.created", map[string]any{"id": "dv1", "key": "password", "deploymentId": "api"}),
			event("deployment-variable-value.created", map[string]any{"id": "dvv1", "deploymentVariableId": "dv1", "priority": 0,
				"resourceSelector": map[string]any{"cel": "true"}, "value": map[string]any{"sensitive": secret}}),
		}
	}

	t.Run("sealed", func(t *testing.T) {
		sealer, err := secrets.New(strings.Repeat("0123456789abcdef", 4))
		if err != nil {
			t.Fatal(err)
		}
		ts := newTestServer(t, engine.Config{Sealer: sealer}, Config{})
		ts.post(targetEvents("a")...)
		ts.post(variableEvents()...)
		ts.post(versionEvent("v1", "1.0.0"))

		jobs := items(t, ts.get("/v1/workspaces/"+testWS+"/jobs"))
		if len(jobs) != 1 {
			t.Fatalf("jobs = %v, want one", jobs)
		}
		rels := items(t, ts.get("/v1/workspaces/"+testWS+"/releases"))
		if len(rels) != 1 {
			t.Fatalf("releases = %v, want one", rels)
		}
		rel := rels[0].(map[string]any)
		if enc, _ := rel["encryptedVariables"].([]any); len(enc) != 1 || enc[0] != "password" {
			t.Errorf("encryptedVariables = %v, want [password]", rel["encryptedVariables"])
		}
		if _, ok := rel["variables"].(map[string]any)["password"]; !ok {
			t.Errorf("release has no password variable: %v", rel["variables"])
		}
		val := ts.get("/v1/workspaces/" + testWS + "/deployment-variable-values/dvv1")
		if s, _ := val["value"].(map[string]any)["sensitive"].(map[string]any); s == nil || s["ciphertext"] == "" || s["valueHash"] == "" {
			t.Errorf("stored value = %v, want sealed", val["value"])
		}
		for _, path := range []string{"deployment-variable-values", "deployment-variable-values/dvv1", "jobs",
			"jobs/" + jobs[0].(map[string]any)["id"].(string), "release-targets", "release-targets/" + targetKey,
			"release-targets/" + targetKey + "/evaluate", "releases", "releases/" + rel["id"].(string)} {
			status, body := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/"+path, "")
			if status != http.StatusOK {
				t.Errorf("GET %s: %d %s", path, status, body)
			}
			if strings.Contains(string(body), secret) {
				t.Errorf("GET %s shows the secret in clear: %s", path, body)
			}
		}
	})

	t.Run("no sealer", func(t *testing.T) {
		ts := newTestServer(t, engine.Config{}, Config{})
		ts.post(targetEvents("a")...)
		evs := variableEvents()
		ts.post(evs[0])
		status, body := ts.do(http.MethodPost, eventsPath, mustJSON(t, evs[1]))
		if status != http.StatusBadRequest {
			t.Fatalf("sensitive value without a sealer: %d %s, want 400", status, body)
		}
		if msg := errorOf(t, body); !strings.Contains(msg, "deploymentVariableValue.value") || strings.Contains(msg, secret) {
			t.Errorf("error %q should name the field and not echo the secret", msg)
		}
		if status, _ := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/deployment-variable-values/dvv1", ""); status != http.StatusNotFound {
			t.Errorf("refused value was stored: %d", status)
		}
	})
}
