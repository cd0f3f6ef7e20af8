package github_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/github"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

const (
	testAppID          = 31337
	testInstallationID = 4242
	jobID              = "7d9f3b52-1c0a-4e8e-9f61-0b7c2d3e4f5a"
)

var now = time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)

// setup returns a fake GitHub, the type pointed at it with a clock at now,
// and a job's config.
func setup(t *testing.T, opts ...func(*github.Options)) (*fakeGitHub, *agents.Type, map[string]any) {
	t.Helper()
	f := newFakeGitHub(t, testAppID, testInstallationID)
	_, key := testKey(t)
	o := github.Options{Now: func() time.Time { return now }}
	for _, opt := range opts {
		opt(&o)
	}
	config := map[string]any{
		"owner": "acme", "repo": "shop", "workflowId": "deploy.yml", "ref": "release",
		"appId": float64(testAppID), "installationId": "4242", "privateKey": key, "baseUrl": f.baseURL(),
	}
	return f, github.New(o), config
}

func dispatchedJob(config map[string]any) agents.Job {
	return agents.Job{WorkspaceID: "ws", ID: jobID, Status: model.JobPending, Config: config,
		CreatedAt: now.Add(-time.Minute), DispatchedAt: now.Add(-30 * time.Second)}
}

func TestGitHub_Dispatch(t *testing.T) {
	f, typ, config := setup(t)
	res, err := typ.Agent.Dispatch(context.Background(), dispatchedJob(config))
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if res.ExternalID != "" || res.Status != "" {
		t.Errorf("result = %+v: the run is not known at dispatch", res)
	}
	if len(f.tokens) != 1 || len(f.dispatches) != 1 {
		t.Fatalf("token exchanges %d, dispatches %d; want 1 and 1", len(f.tokens), len(f.dispatches))
	}
	d := f.dispatches[0]
	if d.owner != "acme" || d.repo != "shop" || d.workflow != "deploy.yml" {
		t.Errorf("dispatched to %s/%s workflow %s", d.owner, d.repo, d.workflow)
	}
	if want := `{"ref":"release","inputs":{"job_id":"` + jobID + `"}}`; d.body != want {
		t.Errorf("body = %s, want %s", d.body, want)
	}
	if d.auth != "token "+f.tokens[0] {
		t.Errorf("Authorization = %q, want the installation token", d.auth)
	}

	// A second job of the same installation reuses its token.
	other := dispatchedJob(config)
	other.ID = "0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b6"
	if _, err := typ.Agent.Dispatch(context.Background(), other); err != nil {
		t.Fatalf("second dispatch: %v", err)
	}
	if len(f.tokens) != 1 || len(f.dispatches) != 2 {
		t.Errorf("token exchanges %d, dispatches %d; want 1 and 2", len(f.tokens), len(f.dispatches))
	}
}

func TestGitHub_DispatchByWorkflowID(t *testing.T) {
	f, typ, config := setup(t)
	config["workflowId"] = 161335.0
	delete(config, "ref")
	if _, err := typ.Agent.Dispatch(context.Background(), dispatchedJob(config)); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if d := f.dispatches[0]; d.workflow != "161335" || !strings.Contains(d.body, `"ref":"main"`) {
		t.Errorf("dispatch = %+v, want workflow 161335 on main", d)
	}
}

func TestGitHub_DispatchKnownRunIsNotRepeated(t *testing.T) {
	f, typ, config := setup(t)
	job := dispatchedJob(config)
	job.ExternalID = "9001"
	res, err := typ.Agent.Dispatch(context.Background(), job)
	if err != nil || res.ExternalID != "9001" {
		t.Fatalf("dispatch = %+v, %v", res, err)
	}
	if len(f.dispatches) != 0 {
		t.Errorf("a job with a known run was dispatched again")
	}
}

func TestGitHub_DispatchFailures(t *testing.T) {
	reset := now.Add(90 * time.Second)
	for _, tc := range []struct {
		name       string
		route      string
		answer     answer
		config     map[string]any // overrides
		status     int
		retryable  bool
		retryAfter time.Duration
		says       string
	}{
		{name: "app id the key does not belong to", config: map[string]any{"appId": 999.0},
			status: 401, says: "Integration not found"},
		{name: "installation not found", config: map[string]any{"installationId": 77.0},
			status: 404, says: "installation token for installation 77"},
		{name: "token exchange down", route: "token", answer: answer{status: 502, body: `{"message":"Server Error"}`},
			status: 502, retryable: true},
		{name: "unknown ref", route: "dispatch", answer: answer{status: 422,
			body: `{"message":"No ref found for: release","documentation_url":"https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event","status":"422"}`},
			status: 422, says: "No ref found for: release"},
		{name: "workflow not found", route: "dispatch", answer: answer{status: 404,
			body: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event","status":"404"}`},
			status: 404, says: "Not Found"},
		{name: "app lacks actions:write", route: "dispatch", answer: answer{status: 403,
			body: `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event","status":"403"}`},
			status: 403, says: "refused the app's credentials"},
		{name: "server error", route: "dispatch", answer: answer{status: 500, body: `{"message":"Server Error"}`},
			status: 500, retryable: true},
		{name: "secondary rate limit", route: "dispatch", answer: answer{status: 429, header: map[string]string{"Retry-After": "60"},
			body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"429"}`},
			status: 429, retryable: true, retryAfter: time.Minute},
		{name: "primary rate limit", route: "dispatch", answer: answer{status: 403, header: map[string]string{
			"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
			"X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10), "X-RateLimit-Resource": "core"},
			body: `{"message":"API rate limit exceeded for installation ID 4242.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting","status":"403"}`},
			status: 403, retryable: true, retryAfter: 90 * time.Second, says: "rate limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, typ, config := setup(t)
			for k, v := range tc.config {
				config[k] = v
			}
			if tc.route != "" {
				f.failWith(tc.route, tc.answer)
			}
			_, err := typ.Agent.Dispatch(context.Background(), dispatchedJob(config))
			e := agents.Classify(err)
			if e == nil {
				t.Fatal("dispatch succeeded")
			}
			if e.StatusCode != tc.status || e.Retryable != tc.retryable || e.RetryAfter != tc.retryAfter {
				t.Errorf("error = %+v; want status %d, retryable %v, retry after %s", e, tc.status, tc.retryable, tc.retryAfter)
			}
			if !strings.Contains(e.Message, tc.says) {
				t.Errorf("message %q does not say %q", e.Message, tc.says)
			}
			if strings.Contains(e.Message, "PRIVATE KEY") || strings.Contains(e.Message, "ghs_") {
				t.Errorf("message leaks a credential: %q", e.Message)
			}
		})
	}
}

func TestGitHub_DispatchTimeout(t *testing.T) {
	f, typ, config := setup(t, func(o *github.Options) { o.Client = &http.Client{Timeout: 300 * time.Millisecond} })
	f.mu.Lock()
	f.hang["dispatch"] = true
	f.mu.Unlock()
	_, err := typ.Agent.Dispatch(context.Background(), dispatchedJob(config))
	if e := agents.Classify(err); e == nil || !e.Retryable {
		t.Fatalf("error = %+v, want a retryable timeout", e)
	}
}

func TestGitHub_Validate(t *testing.T) {
	_, key := testKey(t)
	typ := github.New(github.Options{})
	if !typ.IsSensitive("privateKey") || typ.Follower == nil || typ.FollowInterval <= 0 {
		t.Errorf("type = %+v: want privateKey sensitive and a follower", typ)
	}
	full := func(change map[string]any) map[string]any {
		c := map[string]any{"owner": "acme", "repo": "shop", "workflowId": "deploy.yml",
			"appId": 1.0, "installationId": 2.0, "privateKey": key}
		for k, v := range change {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	for _, tc := range []struct {
		name             string
		config           map[string]any
		agentErr, jobErr string // field named, "" = valid
	}{
		{"complete", full(nil), "", ""},
		{"enterprise server", full(map[string]any{"baseUrl": "https://ghe.example.com/api/v3/", "ref": "v1.2.0"}), "", ""},
		{"sealed key", full(map[string]any{"privateKey": map[string]any{"ciphertext": "AAAA"}}), "", ""},
		{"templated repo", full(map[string]any{"repo": "{{.Resource.Name}}"}), "", ""},
		{"agent without repository", full(map[string]any{"owner": nil, "repo": nil, "workflowId": nil}), "", "owner"},
		{"missing repo", full(map[string]any{"repo": nil}), "", "repo"},
		{"missing workflowId", full(map[string]any{"workflowId": ""}), "", "workflowId"},
		{"missing appId", full(map[string]any{"appId": nil}), "appId", "appId"},
		{"missing installationId", full(map[string]any{"installationId": nil}), "installationId", "installationId"},
		{"missing privateKey", full(map[string]any{"privateKey": nil}), "privateKey", "privateKey"},
		{"appId not a number", full(map[string]any{"appId": "my-app"}), "appId", "appId"},
		{"negative installationId", full(map[string]any{"installationId": -3.0}), "installationId", "installationId"},
		{"key not PEM", full(map[string]any{"privateKey": "ssh-rsa AAAA"}), "privateKey", "privateKey"},
		{"relative baseUrl", full(map[string]any{"baseUrl": "api.github.com"}), "baseUrl", "baseUrl"},
		{"owner not a string", full(map[string]any{"owner": map[string]any{}}), "owner", "owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for scope, want := range map[agents.Scope]string{agents.ScopeAgent: tc.agentErr, agents.ScopeJob: tc.jobErr} {
				err := typ.Validate(tc.config, scope)
				if want == "" && err != nil {
					t.Errorf("scope %d: %v", scope, err)
				}
				if want != "" && (err == nil || !strings.HasPrefix(err.Error(), want+": ")) {
					t.Errorf("scope %d: error = %v, want one naming %q", scope, err, want)
				}
			}
		})
	}
}
