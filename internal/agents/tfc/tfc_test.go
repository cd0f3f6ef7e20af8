package tfc

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

const jobID = "7d1f0c2e-94b8-4a57-b3c6-0e5a9f1d2c34"

func dispatch(t *testing.T, typ *agents.Type, config map[string]any) (agents.Result, error) {
	t.Helper()
	return typ.Agent.Dispatch(context.Background(), agents.Job{WorkspaceID: "ws", ID: jobID, Config: config})
}

func TestDispatch_NewWorkspace(t *testing.T) {
	srv := newTFCServer(t)
	res, err := dispatch(t, New(Options{}), srv.config(func(c map[string]any) {
		c["variables"] = map[string]any{
			"image_tag":   "v1.4.0",
			"replicas":    3.0,
			"zones":       []any{"a", "b"},
			"TF_LOG":      map[string]any{"value": "info", "category": "env"},
			"db_password": map[string]any{"value": "s3cret", "sensitive": true},
		}
	}))
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	want := []string{
		"GET /api/v2/organizations/acme/workspaces/api-prod",
		"POST /api/v2/organizations/acme/workspaces",
		"GET /api/v2/workspaces/ws-0001/runs",
		"GET /api/v2/workspaces/ws-0001/vars",
		"POST /api/v2/workspaces/ws-0001/vars", "POST /api/v2/workspaces/ws-0001/vars", "POST /api/v2/workspaces/ws-0001/vars",
		"POST /api/v2/workspaces/ws-0001/vars", "POST /api/v2/workspaces/ws-0001/vars",
		"POST /api/v2/runs",
	}
	if got := srv.routes(); !slices.Equal(got, want) {
		t.Errorf("requests:\n got %q\nwant %q", got, want)
	}
	for _, r := range srv.requests {
		if r.auth != "Bearer tfc-token" || r.accept != jsonAPI {
			t.Errorf("%s: Authorization %q, Accept %q", r.route, r.auth, r.accept)
		}
	}
	if name := attributes(srv.sent("POST /api/v2/organizations/acme/workspaces")[0].body)["name"]; name != "api-prod" {
		t.Errorf("workspace created with name %v", name)
	}
	if uri := srv.sent("GET /api/v2/workspaces/ws-0001/runs")[0].uri; !strings.Contains(uri, "search%5Bbasic%5D="+jobID) {
		t.Errorf("runs searched with %s, want search[basic]=<job id>", uri)
	}

	vars := srv.varsOf("acme", "api-prod")
	wantVars := map[string]tfVar{
		"terraform/image_tag":   {key: "image_tag", value: "v1.4.0", category: "terraform"},
		"terraform/replicas":    {key: "replicas", value: "3", category: "terraform"},
		"terraform/zones":       {key: "zones", value: `["a","b"]`, category: "terraform", hcl: true},
		"env/TF_LOG":            {key: "TF_LOG", value: "info", category: "env"},
		"terraform/db_password": {key: "db_password", value: "s3cret", category: "terraform", sensitive: true},
	}
	for key, w := range wantVars {
		got := vars[key]
		got.id = ""
		if got != w {
			t.Errorf("variable %s = %+v, want %+v", key, got, w)
		}
	}

	run := srv.sent("POST /api/v2/runs")[0]
	if run.contentType != jsonAPI {
		t.Errorf("run created with Content-Type %q", run.contentType)
	}
	if msg := attributes(run.body)["message"]; msg != "gatehouse job "+jobID {
		t.Errorf("run message = %v, want the job id", msg)
	}
	if !strings.Contains(mustJSON(t, run.body), `"workspace":{"data":{"id":"ws-0001","type":"workspaces"}}`) {
		t.Errorf("run not tied to the workspace: %s", mustJSON(t, run.body))
	}
	if res.ExternalID != "run-0007" {
		t.Errorf("external id = %q, want the run id run-0007", res.ExternalID)
	}
	if link := res.Links["run"]; link != srv.srv.URL+"/app/acme/workspaces/api-prod/runs/run-0007" {
		t.Errorf("run link = %q", link)
	}
}

func TestDispatch_ExistingWorkspace(t *testing.T) {
	srv := newTFCServer(t)
	ws := srv.addWorkspace("acme", "api-prod")
	srv.addVar(ws, tfVar{key: "image_tag", value: "v1.3.0", category: "terraform"})
	srv.addVar(ws, tfVar{key: "region", value: "eu-west-1", category: "terraform"})
	srv.addVar(ws, tfVar{key: "db_password", value: "old", category: "terraform", sensitive: true})
	srv.addVar(ws, tfVar{key: "image_tag", value: "unrelated", category: "env"})

	_, err := dispatch(t, New(Options{}), srv.config(func(c map[string]any) {
		c["variables"] = map[string]any{"image_tag": "v1.4.0", "region": "eu-west-1",
			"db_password": map[string]any{"value": "new", "sensitive": "true"}}
	}))
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if n := len(srv.sent("POST /api/v2/organizations/acme/workspaces")); n != 0 {
		t.Errorf("workspace created %d times, want it read", n)
	}
	patched := srv.sent("PATCH /api/v2/workspaces/" + ws.id + "/vars/var-0002")
	patched = append(patched, srv.sent("PATCH /api/v2/workspaces/"+ws.id+"/vars/var-0004")...)
	if len(patched) != 2 {
		t.Errorf("updates: %q, want image_tag and db_password (a sensitive value cannot be compared)", srv.routes())
	}
	vars := srv.varsOf("acme", "api-prod")
	if vars["terraform/image_tag"].value != "v1.4.0" || vars["terraform/db_password"].value != "new" ||
		vars["terraform/region"].value != "eu-west-1" || vars["env/image_tag"].value != "unrelated" {
		t.Errorf("variables after dispatch: %+v", vars)
	}
	if n := len(srv.sent("PATCH /api/v2/workspaces/" + ws.id + "/vars/var-0003")); n != 0 {
		t.Errorf("unchanged region written %d times", n)
	}
}

func TestDispatch_RedeliveryReusesTheRun(t *testing.T) {
	srv := newTFCServer(t)
	typ := New(Options{})
	config := srv.config(func(c map[string]any) { c["variables"] = map[string]any{"image_tag": "v1.4.0"} })
	first, err := dispatch(t, typ, config)
	if err != nil {
		t.Fatalf("first dispatch: %v", err)
	}
	before := len(srv.routes())
	second, err := dispatch(t, typ, config)
	if err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if second.ExternalID != first.ExternalID || srv.runCount() != 1 {
		t.Errorf("redelivery answered %q (first %q) with %d runs on the server, want the same single run",
			second.ExternalID, first.ExternalID, srv.runCount())
	}
	want := []string{"GET /api/v2/organizations/acme/workspaces/api-prod", "GET /api/v2/workspaces/ws-0001/runs"}
	if got := srv.routes()[before:]; !slices.Equal(got, want) {
		t.Errorf("redelivery sent %q, want only %q", got, want)
	}
}

func TestDispatch_Failures(t *testing.T) {
	tests := []struct {
		name       string
		change     func(map[string]any)
		route      string
		fail       tfFailure
		retryable  bool
		status     int
		retryAfter time.Duration
		message    string
	}{
		{name: "token refused", change: func(c map[string]any) { c["token"] = "revoked" },
			status: 401, message: "read workspace api-prod: terraform API answered 401 Unauthorized: unauthorized"},
		{name: "organization unknown", change: func(c map[string]any) { c["organization"] = "nobody" },
			status: 404, message: "create workspace api-prod in nobody: terraform API answered 404 Not Found: not found"},
		{name: "run refused", route: "POST /api/v2/runs",
			fail:   tfFailure{status: 422, errors: []map[string]any{invalidAttribute("Configuration version is missing", "/data/relationships/configuration-version")}},
			status: 422, message: "invalid attribute: Configuration version is missing (/data/relationships/configuration-version)"},
		{name: "server error", route: "GET /api/v2/workspaces/{id}/runs",
			fail:      tfFailure{status: 500, errors: []map[string]any{{"status": "500", "title": "internal server error"}}},
			retryable: true, status: 500, message: "list runs: terraform API answered 500 Internal Server Error: internal server error"},
		{name: "rate limited", route: "GET /api/v2/organizations/{org}/workspaces/{name}",
			fail: tfFailure{status: 429, header: map[string]string{"X-RateLimit-Reset": "1.4"},
				errors: []map[string]any{{"status": "429", "title": "Too many requests"}}},
			retryable: true, status: 429, retryAfter: 2 * time.Second, message: "Too many requests"},
		{name: "unavailable", route: "POST /api/v2/organizations/{org}/workspaces",
			fail:      tfFailure{status: 503, header: map[string]string{"Retry-After": "30"}},
			retryable: true, status: 503, retryAfter: 30 * time.Second, message: "503 Service Unavailable"},
		{name: "bad variable", change: func(c map[string]any) {
			c["variables"] = map[string]any{"x": map[string]any{"value": "1", "category": "secret"}}
		}, message: "variables.x.category: must be terraform or env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTFCServer(t)
			if tt.route != "" {
				srv.failOn(tt.route, tt.fail)
			}
			_, err := dispatch(t, New(Options{}), srv.config(tt.change))
			if err == nil {
				t.Fatal("dispatch succeeded, want an error")
			}
			e := agents.Classify(err)
			if e.Retryable != tt.retryable || e.StatusCode != tt.status || e.RetryAfter != tt.retryAfter {
				t.Errorf("classified retryable=%v status=%d retryAfter=%v, want %v %d %v (%v)",
					e.Retryable, e.StatusCode, e.RetryAfter, tt.retryable, tt.status, tt.retryAfter, err)
			}
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.message)
			}
			if strings.Contains(e.Message, "tfc-token") {
				t.Errorf("message %q holds the token", e.Message)
			}
			if tt.route != "" {
				counts := map[string]int{}
				for _, r := range srv.routes() {
					counts[r]++
				}
				for route, n := range counts {
					if n > 1 && !strings.HasSuffix(route, "/vars") {
						t.Errorf("%s sent %d times in one attempt", route, n)
					}
				}
			}
		})
	}
}

func TestDispatch_Timeout(t *testing.T) {
	srv := newTFCServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })

	_, err := dispatch(t, New(Options{Timeout: 50 * time.Millisecond}), srv.config(nil))
	if err == nil {
		t.Fatal("dispatch to a server that does not answer succeeded")
	}
	if e := agents.Classify(err); !e.Retryable || e.StatusCode != 0 {
		t.Errorf("timeout classified retryable=%v status=%d, want retryable without status (%v)", e.Retryable, e.StatusCode, err)
	}
}

func TestFollow(t *testing.T) {
	tests := map[string]string{
		"pending":              model.JobInProgress,
		"planning":             model.JobInProgress,
		"planned":              model.JobInProgress,
		"policy_override":      model.JobInProgress,
		"applying":             model.JobInProgress,
		"applied":              model.JobSuccessful,
		"planned_and_finished": model.JobSuccessful,
		"errored":              model.JobFailure,
		"canceled":             model.JobCancelled,
		"discarded":            model.JobCancelled,
		"force_canceled":       model.JobCancelled,
	}
	srv := newTFCServer(t)
	typ := New(Options{})
	res, err := dispatch(t, typ, srv.config(nil))
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	for _, runStatus := range sortedKeys(tests) {
		t.Run(runStatus, func(t *testing.T) {
			srv.setRunStatus(res.ExternalID, runStatus)
			up, err := typ.Follower.Follow(context.Background(), agents.Job{ID: jobID, ExternalID: res.ExternalID, Config: srv.config(nil)})
			if err != nil {
				t.Fatalf("follow: %v", err)
			}
			if up.Status != tests[runStatus] || up.Message != "run "+res.ExternalID+" "+runStatus {
				t.Errorf("follow = %q %q, want %q", up.Status, up.Message, tests[runStatus])
			}
			if up.Links["run"] != res.Links["run"] {
				t.Errorf("follow link = %q, want %q", up.Links["run"], res.Links["run"])
			}
		})
	}
}

func TestFollow_Failures(t *testing.T) {
	srv := newTFCServer(t)
	typ := New(Options{})
	follow := func(config map[string]any) (agents.Update, error) {
		return typ.Follower.Follow(context.Background(), agents.Job{ID: jobID, ExternalID: "run-gone", Config: config})
	}
	up, err := follow(srv.config(nil))
	if err != nil || up.Status != model.JobExternalRunNotFound || !strings.Contains(up.Message, "run run-gone not found") {
		t.Errorf("follow of a missing run = %+v, %v; want externalRunNotFound", up, err)
	}
	_, err = follow(srv.config(func(c map[string]any) { c["token"] = "revoked" }))
	if e := agents.Classify(err); e == nil || e.Retryable || e.StatusCode != 401 {
		t.Errorf("follow with a revoked token: %v, want a permanent 401", err)
	}
	srv.failOn("GET /api/v2/runs/{id}", tfFailure{status: 502})
	_, err = follow(srv.config(nil))
	if e := agents.Classify(err); e == nil || !e.Retryable || e.StatusCode != 502 {
		t.Errorf("follow through a bad gateway: %v, want a retryable 502", err)
	}
}
