package argowf

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

const jobID = "3f9a6c1d-2b7e-4d08-8a5f-c41e7b0d9e22"

const (
	routeCreate = "POST /api/v1/workflows/{ns}"
	routeList   = "GET /api/v1/workflows/{ns}"
	routeGet    = "GET /api/v1/workflows/{ns}/{name}"
)

func dispatch(t *testing.T, typ *agents.Type, config map[string]any) (agents.Result, error) {
	t.Helper()
	return typ.Agent.Dispatch(context.Background(), agents.Job{WorkspaceID: "ws", ID: jobID, Config: config})
}

func TestDispatch_SubmitsWorkflow(t *testing.T) {
	srv := newArgoServer(t, false)
	res, err := dispatch(t, New(Options{}), srv.config(workflowYAML))
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	name := "deploy-" + jobID
	if res.ExternalID != "argo/"+name {
		t.Errorf("external id = %q, want argo/%s", res.ExternalID, name)
	}
	if res.Links["workflow"] != srv.srv.URL+"/workflows/argo/"+name {
		t.Errorf("link = %q", res.Links["workflow"])
	}

	lists := srv.sent(routeList)
	if len(lists) != 1 {
		t.Fatalf("%d lookups before submitting, want 1", len(lists))
	}
	q, _ := url.ParseQuery(lists[0].query)
	if got := q.Get("listOptions.labelSelector"); got != "gatehouse.dev/job-id="+jobID {
		t.Errorf("looked up with selector %q", got)
	}

	creates := srv.sent(routeCreate)
	if len(creates) != 1 {
		t.Fatalf("%d submissions, want 1", len(creates))
	}
	c := creates[0]
	if c.auth != "Bearer argo-token" || c.contentType != "application/json" {
		t.Errorf("submitted with Authorization %q, Content-Type %q", c.auth, c.contentType)
	}
	if c.body["namespace"] != "argo" {
		t.Errorf("request namespace = %v", c.body["namespace"])
	}
	wf := c.body["workflow"].(map[string]any)
	md := wf["metadata"].(map[string]any)
	labels := md["labels"].(map[string]any)
	if md["name"] != name || md["generateName"] != nil || labels[agents.JobIDLabel] != jobID || labels["team"] != "payments" {
		t.Errorf("metadata = %v, want the name from the job id and both labels", md)
	}
	spec := wf["spec"].(map[string]any)
	tmpl := spec["templates"].([]any)[0].(map[string]any)
	args := tmpl["container"].(map[string]any)["args"].([]any)
	if spec["entrypoint"] != "main" || args[1] != "{{workflow.parameters.version}}" {
		t.Errorf("spec not sent as written: %v", spec)
	}
}

func TestDispatch_TokenWithBearerPrefix(t *testing.T) {
	srv := newArgoServer(t, false)
	config := srv.config(workflowYAML)
	config["token"] = "Bearer argo-token"
	if _, err := dispatch(t, New(Options{}), config); err != nil {
		t.Fatalf("dispatch with a token given as ARGO_TOKEN is: %v", err)
	}
}

func TestDispatch_Redelivery(t *testing.T) {
	t.Run("found by label", func(t *testing.T) {
		srv := newArgoServer(t, false)
		typ := New(Options{})
		first, err := dispatch(t, typ, srv.config(workflowYAML))
		if err != nil {
			t.Fatalf("first dispatch: %v", err)
		}
		second, err := dispatch(t, typ, srv.config(workflowYAML))
		if err != nil || second.ExternalID != first.ExternalID {
			t.Fatalf("redelivery = %q, %v; want %q", second.ExternalID, err, first.ExternalID)
		}
		if n := len(srv.sent(routeCreate)); n != 1 {
			t.Errorf("%d submissions, want 1", n)
		}
	})
	t.Run("name taken", func(t *testing.T) {
		// A Workflow of the job's name without the label (its labels were
		// edited): the create meets 409 AlreadyExists, which is the job's.
		srv := newArgoServer(t, false)
		srv.add("argo", map[string]any{"metadata": map[string]any{"name": "deploy-" + jobID}, "spec": map[string]any{"entrypoint": "main"}})
		res, err := dispatch(t, New(Options{}), srv.config(workflowYAML))
		if err != nil || res.ExternalID != "argo/deploy-"+jobID {
			t.Fatalf("dispatch onto a taken name = %q, %v; want success with that name", res.ExternalID, err)
		}
	})
}

func TestDispatch_Failures(t *testing.T) {
	tests := []struct {
		name       string
		config     func(*argoServer) map[string]any
		route      string
		fail       argoFailure
		retryable  bool
		status     int
		retryAfter time.Duration
		message    string
	}{
		{name: "token refused", status: 401, message: "argo server answered 401 Unauthorized: token not valid",
			config: func(s *argoServer) map[string]any { c := s.config(workflowYAML); c["token"] = "expired"; return c }},
		{name: "forbidden", route: routeCreate, status: 403, message: `cannot create resource "workflows"`,
			fail: argoFailure{status: 403, code: codePermissionDenied,
				message: `workflows.argoproj.io is forbidden: User "system:serviceaccount:argo:gatehouse" cannot create resource "workflows"`}},
		{name: "namespace unknown", route: routeList, status: 404, message: `namespaces "argo" not found`,
			fail: argoFailure{status: 404, code: codeNotFound, message: `namespaces "argo" not found`}},
		{name: "invalid workflow", status: 400, message: "spec.entrypoint is required",
			config: func(s *argoServer) map[string]any {
				return s.config(strings.Replace(workflowYAML, "  entrypoint: main\n", "", 1))
			}},
		{name: "server error", route: routeCreate, retryable: true, status: 500, message: "etcdserver: request timed out",
			fail: argoFailure{status: 500, code: codeInternal, message: "etcdserver: request timed out"}},
		{name: "unavailable", route: routeList, retryable: true, status: 503, retryAfter: 10 * time.Second, message: "503 Service Unavailable",
			fail: argoFailure{status: 503, code: codeUnavailable, message: "the server is shutting down", header: map[string]string{"Retry-After": "10"}}},
		{name: "not a Workflow", message: "template.kind: must be Workflow",
			config: func(s *argoServer) map[string]any {
				return s.config(strings.Replace(workflowYAML, "kind: Workflow", "kind: WorkflowTemplate", 1))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newArgoServer(t, false)
			config := srv.config(workflowYAML)
			if tt.config != nil {
				config = tt.config(srv)
			}
			if tt.route != "" {
				srv.failOn(tt.route, tt.fail)
			}
			_, err := dispatch(t, New(Options{}), config)
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
			if strings.Contains(e.Message, "argo-token") {
				t.Errorf("message %q holds the token", e.Message)
			}
		})
	}
}

func TestDispatch_Timeout(t *testing.T) {
	srv := newArgoServer(t, false)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })

	_, err := dispatch(t, New(Options{Timeout: 50 * time.Millisecond}), srv.config(workflowYAML))
	if err == nil {
		t.Fatal("dispatch to a server that does not answer succeeded")
	}
	if e := agents.Classify(err); !e.Retryable || e.StatusCode != 0 {
		t.Errorf("timeout classified retryable=%v status=%d, want retryable without status (%v)", e.Retryable, e.StatusCode, err)
	}
}

func TestDispatch_TLS(t *testing.T) {
	srv := newArgoServer(t, true)
	config := srv.config(workflowYAML)
	if _, err := dispatch(t, New(Options{}), config); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("dispatch to a self-signed server: %v, want the certificate refused", err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.srv.Certificate().Raw})
	config["caData"] = base64.StdEncoding.EncodeToString(ca)
	if _, err := dispatch(t, New(Options{}), config); err != nil {
		t.Fatalf("dispatch trusting the server's certificate: %v", err)
	}
	delete(config, "caData")
	config["insecureSkipTLSVerify"] = true
	if _, err := dispatch(t, New(Options{}), config); err != nil {
		t.Fatalf("dispatch with insecureSkipTLSVerify: %v", err)
	}
}

func TestFollow(t *testing.T) {
	tests := []struct {
		phase, message, want, wantMessage string
	}{
		{"", "", "", ""},
		{"Pending", "", model.JobInProgress, "Workflow Pending"},
		{"Running", "", model.JobInProgress, "Workflow Running"},
		{"Succeeded", "", model.JobSuccessful, "Workflow Succeeded"},
		{"Failed", "child 'deploy-x-123' failed", model.JobFailure, "child 'deploy-x-123' failed"},
		{"Error", "pod deleted", model.JobFailure, "pod deleted"},
	}
	srv := newArgoServer(t, false)
	typ := New(Options{})
	res, err := dispatch(t, typ, srv.config(workflowYAML))
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	for _, tt := range tests {
		t.Run("phase "+tt.phase, func(t *testing.T) {
			srv.setStatus(res.ExternalID, tt.phase, tt.message)
			up, err := typ.Follower.Follow(context.Background(), agents.Job{ID: jobID, ExternalID: res.ExternalID, Config: srv.config(workflowYAML)})
			if err != nil {
				t.Fatalf("follow: %v", err)
			}
			if up.Status != tt.want || up.Message != tt.wantMessage {
				t.Errorf("follow = %q %q, want %q %q", up.Status, up.Message, tt.want, tt.wantMessage)
			}
		})
	}
}

func TestFollow_Failures(t *testing.T) {
	srv := newArgoServer(t, false)
	typ := New(Options{})
	follow := func(config map[string]any) (agents.Update, error) {
		return typ.Follower.Follow(context.Background(), agents.Job{ID: jobID, ExternalID: "argo/deploy-gone", Config: config})
	}
	up, err := follow(srv.config(nil))
	if err != nil || up.Status != model.JobExternalRunNotFound || !strings.Contains(up.Message, `workflows.argoproj.io "deploy-gone" not found`) {
		t.Errorf("follow of a deleted Workflow = %+v, %v; want externalRunNotFound with the server's message", up, err)
	}
	expired := srv.config(nil)
	expired["token"] = "expired"
	if e := agents.Classify(func() error { _, err := follow(expired); return err }()); e == nil || e.Retryable || e.StatusCode != 401 {
		t.Errorf("follow with an expired token: %+v, want a permanent 401", e)
	}
	srv.failOn(routeGet, argoFailure{status: 500, code: codeInternal, message: "rpc error"})
	if e := agents.Classify(func() error { _, err := follow(srv.config(nil)); return err }()); e == nil || !e.Retryable || e.StatusCode != 500 {
		t.Errorf("follow against a failing server: %+v, want a retryable 500", e)
	}
}
