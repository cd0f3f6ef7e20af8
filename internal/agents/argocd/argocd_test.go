package argocd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/argocd"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

const apiKey = "eyJhbGciOiJIUzI1NiJ9.argocd-account-token"

// manifest is an Application as the dispatcher hands it over: rendered.
const manifest = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop-prod
  namespace: argocd
  labels:
    gatehouse/job: j-1
spec:
  project: retail
  source:
    repoURL: https://github.com/acme/deploy.git
    targetRevision: v1.4.2
    path: shop/overlays/prod
  destination:
    server: https://kubernetes.default.svc
    namespace: shop
  syncPolicy:
    automated: {prune: true, selfHeal: true}
`

var now = time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T, client *http.Client) (*fakeArgoCD, *agents.Type, agents.Job) {
	t.Helper()
	f := newFakeArgoCD(t, apiKey)
	typ := argocd.New(argocd.Options{Client: client, Now: func() time.Time { return now }})
	job := agents.Job{WorkspaceID: "ws", ID: "j-1", Status: model.JobPending,
		Config:       map[string]any{"serverUrl": f.srv.URL + "/", "apiKey": apiKey, "template": manifest},
		CreatedAt:    now.Add(-time.Minute),
		DispatchedAt: now.Add(-30 * time.Second)}
	return f, typ, job
}

func TestArgoCD_Dispatch(t *testing.T) {
	f, typ, job := setup(t, nil)
	res, err := typ.Agent.Dispatch(context.Background(), job)
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if res.ExternalID != "shop-prod" || res.Links["application"] != f.srv.URL+"/applications/argocd/shop-prod" {
		t.Errorf("result = %+v", res)
	}
	r := f.last()
	if r.method != http.MethodPost || r.path != "/api/v1/applications" || r.query.Get("upsert") != "true" {
		t.Errorf("request = %s %s?%s", r.method, r.path, r.query.Encode())
	}
	if got := r.header.Get("Authorization"); got != "Bearer "+apiKey {
		t.Errorf("Authorization = %q", got)
	}
	var sent, want map[string]any
	if err := json.Unmarshal(r.body, &sent); err != nil {
		t.Fatalf("body is not JSON: %s", r.body)
	}
	want = map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "shop-prod", "namespace": "argocd", "labels": map[string]any{"gatehouse/job": "j-1"}},
		"spec": map[string]any{
			"project":     "retail",
			"source":      map[string]any{"repoURL": "https://github.com/acme/deploy.git", "targetRevision": "v1.4.2", "path": "shop/overlays/prod"},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "shop"},
			"syncPolicy":  map[string]any{"automated": map[string]any{"prune": true, "selfHeal": true}},
		},
	}
	if !reflect.DeepEqual(sent, want) {
		t.Errorf("body =\n%s\nwant the manifest as JSON", r.body)
	}

	// Dispatching again (at least once delivery) upserts the same spec.
	if _, err := typ.Agent.Dispatch(context.Background(), job); err != nil {
		t.Fatalf("second dispatch: %v", err)
	}
}

func TestArgoCD_DispatchJSONAndObjectTemplates(t *testing.T) {
	app := map[string]any{"metadata": map[string]any{"name": "api"},
		"spec": map[string]any{"project": "default", "source": map[string]any{"repoURL": "https://git.example.com/x.git"}}}
	text, _ := json.Marshal(app)
	for name, tmpl := range map[string]any{"json text": string(text), "object": app} {
		t.Run(name, func(t *testing.T) {
			f, typ, job := setup(t, nil)
			job.Config["template"] = tmpl
			res, err := typ.Agent.Dispatch(context.Background(), job)
			if err != nil || res.ExternalID != "api" {
				t.Fatalf("dispatch = %+v, %v", res, err)
			}
			var sent map[string]any
			json.Unmarshal(f.last().body, &sent)
			if !reflect.DeepEqual(sent, app) {
				t.Errorf("body = %s", f.last().body)
			}
		})
	}
}

func TestArgoCD_DispatchFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		key        string
		fail       *failure
		status     int
		retryable  bool
		retryAfter time.Duration
		says       string
	}{
		{name: "wrong token", key: "stale-token", status: 401, says: "token signature is invalid"},
		{name: "no rights on the project", fail: &failure{status: 403,
			body: `{"error":"permission denied: applications, create, retail/shop-prod, sub: gatehouse","code":7,"message":"permission denied: applications, create, retail/shop-prod, sub: gatehouse","details":[]}`},
			status: 403, says: "permission denied: applications, create"},
		{name: "invalid spec", fail: &failure{status: 400,
			body: `{"error":"application spec for shop-prod is invalid: InvalidSpecError: application repo https://github.com/acme/deploy.git is not permitted in project 'retail'","code":3,"message":"application spec for shop-prod is invalid: InvalidSpecError: application repo https://github.com/acme/deploy.git is not permitted in project 'retail'","details":[]}`},
			status: 400, says: "is not permitted in project 'retail'"},
		{name: "server error", fail: &failure{status: 500,
			body: `{"error":"error creating application: etcdserver: request timed out","code":2,"message":"error creating application: etcdserver: request timed out","details":[]}`},
			status: 500, retryable: true, says: "etcdserver: request timed out"},
		{name: "overloaded", fail: &failure{status: 429, header: map[string]string{"Retry-After": "15"}, body: "Too Many Requests"},
			status: 429, retryable: true, retryAfter: 15 * time.Second, says: "Too Many Requests"},
		{name: "gateway unavailable", fail: &failure{status: 503, header: map[string]string{"Retry-After": "7"}, body: "<html>503</html>"},
			status: 503, retryable: true, retryAfter: 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, typ, job := setup(t, nil)
			f.fail = tc.fail
			if tc.key != "" {
				job.Config["apiKey"] = tc.key
			}
			_, err := typ.Agent.Dispatch(context.Background(), job)
			e := agents.Classify(err)
			if e == nil {
				t.Fatal("dispatch succeeded")
			}
			if e.StatusCode != tc.status || e.Retryable != tc.retryable || e.RetryAfter != tc.retryAfter {
				t.Errorf("error = %+v; want status %d, retryable %v, retry after %s", e, tc.status, tc.retryable, tc.retryAfter)
			}
			if !strings.Contains(e.Message, tc.says) || strings.Contains(e.Message, apiKey) {
				t.Errorf("message %q: want it to say %q and not hold the key", e.Message, tc.says)
			}
		})
	}
}

func TestArgoCD_DispatchTimeout(t *testing.T) {
	f, typ, job := setup(t, &http.Client{Timeout: 300 * time.Millisecond})
	f.fail = &failure{hang: true}
	_, err := typ.Agent.Dispatch(context.Background(), job)
	if e := agents.Classify(err); e == nil || !e.Retryable {
		t.Fatalf("error = %+v, want a retryable timeout", e)
	}
}

func TestArgoCD_DispatchRefusesBadManifest(t *testing.T) {
	f, typ, job := setup(t, nil)
	job.Config["template"] = "kind: Application\nmetadata:\n  namespace: argocd\n"
	_, err := typ.Agent.Dispatch(context.Background(), job)
	if e := agents.Classify(err); e == nil || e.Retryable || !strings.Contains(e.Message, "template.metadata.name") {
		t.Fatalf("error = %+v, want a permanent error naming template.metadata.name", e)
	}
	if len(f.requests) != 0 {
		t.Error("a manifest without a name was sent")
	}
}
