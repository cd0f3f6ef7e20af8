package argocd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/argocd"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Statuses as Argo CD's controller writes them; $SOURCE is the current
// spec.source, an older source stands for status from before the upsert.
const oldSource = `{"repoURL":"https://github.com/acme/deploy.git","targetRevision":"v1.4.1","path":"shop/overlays/prod"}`

func TestArgoCD_Follow(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		dispatched   time.Duration // before now
		want         string
		says         string
	}{
		{name: "not reconciled yet", status: `{}`, want: model.JobInProgress},
		{name: "synced and healthy",
			status: `{"sync":{"status":"Synced","revision":"9f2c1e7","comparedTo":{"source":$SOURCE,"destination":{"server":"https://kubernetes.default.svc","namespace":"shop"}}},
			  "health":{"status":"Healthy"},
			  "operationState":{"phase":"Succeeded","message":"successfully synced (all tasks run)","startedAt":"2030-03-04T09:59:45Z","syncResult":{"revision":"9f2c1e7","source":$SOURCE}}}`,
			want: model.JobSuccessful, says: "revision 9f2c1e7"},
		{name: "synced, still progressing",
			status: `{"sync":{"status":"Synced","comparedTo":{"source":$SOURCE}},"health":{"status":"Progressing"}}`,
			want:   model.JobInProgress, says: "health Progressing"},
		{name: "healthy status of the previous revision",
			status: `{"sync":{"status":"Synced","comparedTo":{"source":` + oldSource + `}},"health":{"status":"Healthy"}}`,
			want:   model.JobInProgress, says: "compare the new spec"},
		{name: "out of sync and degraded before the sync",
			status: `{"sync":{"status":"OutOfSync","comparedTo":{"source":$SOURCE}},"health":{"status":"Degraded"}}`,
			want:   model.JobInProgress},
		{name: "synced and degraded",
			status: `{"sync":{"status":"Synced","comparedTo":{"source":$SOURCE}},"health":{"status":"Degraded","message":"Deployment \"shop\" exceeded its progress deadline"}}`,
			want:   model.JobFailure, says: "exceeded its progress deadline"},
		{name: "sync failed",
			status: `{"sync":{"status":"OutOfSync","comparedTo":{"source":$SOURCE}},"health":{"status":"Healthy"},
			  "operationState":{"phase":"Failed","message":"one or more objects failed to apply, reason: Deployment.apps \"shop\" is invalid","startedAt":"2030-03-04T09:59:50Z","syncResult":{"revision":"9f2c1e7","source":$SOURCE}}}`,
			want: model.JobFailure, says: "failed to apply"},
		{name: "sync errored before producing a result",
			status: `{"sync":{"status":"Unknown"},"health":{"status":"Healthy"},
			  "operationState":{"phase":"Error","message":"ComparisonError: rpc error: code = Unknown desc = repository not found","startedAt":"2030-03-04T09:59:50Z"}}`,
			want: model.JobFailure, says: "repository not found"},
		{name: "failure of a sync of the previous revision",
			status: `{"sync":{"status":"OutOfSync","comparedTo":{"source":$SOURCE}},"health":{"status":"Healthy"},
			  "operationState":{"phase":"Failed","message":"old failure","startedAt":"2030-03-04T08:00:00Z","syncResult":{"source":` + oldSource + `}}}`,
			want: model.JobInProgress},
		{name: "sync running",
			status: `{"sync":{"status":"Synced","comparedTo":{"source":$SOURCE}},"health":{"status":"Healthy"},
			  "operationState":{"phase":"Running","message":"waiting for healthy state of apps/Deployment/shop","startedAt":"2030-03-04T09:59:50Z"}}`,
			want: model.JobInProgress, says: "waiting for healthy state"},
		{name: "invalid spec",
			status: `{"sync":{"status":"Unknown"},"health":{"status":"Healthy"},"conditions":[{"type":"InvalidSpecError","message":"Namespace \"shop\" for Deployment \"shop\" is not permitted in project 'retail'"}]}`,
			want:   model.JobFailure, says: "not permitted in project"},
		{name: "comparison error is shown",
			status: `{"sync":{"status":"Unknown"},"health":{"status":"Healthy"},"conditions":[{"type":"ComparisonError","message":"Failed to load target state: repo server timeout"}]}`,
			want:   model.JobInProgress, says: "repo server timeout"},
		{name: "missing before the first sync",
			status: `{"sync":{"status":"OutOfSync","comparedTo":{"source":$SOURCE}},"health":{"status":"Missing"}}`,
			want:   model.JobInProgress},
		{name: "missing long after the dispatch", dispatched: argocd.MissingAfter,
			status: `{"sync":{"status":"OutOfSync","comparedTo":{"source":$SOURCE}},"health":{"status":"Missing"}}`,
			want:   model.JobExternalRunNotFound, says: "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, typ, job := setup(t, nil)
			res, err := typ.Agent.Dispatch(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			f.setStatus("shop-prod", tc.status)
			job.Status, job.ExternalID = model.JobInProgress, res.ExternalID
			if tc.dispatched != 0 {
				job.DispatchedAt = now.Add(-tc.dispatched)
			}
			u, err := typ.Follower.Follow(context.Background(), job)
			if err != nil {
				t.Fatalf("follow: %v", err)
			}
			if u.Status != tc.want || !strings.Contains(u.Message, tc.says) {
				t.Errorf("update = %+v, want %s saying %q", u, tc.want, tc.says)
			}
			r := f.last()
			if r.path != "/api/v1/applications/shop-prod" || r.query.Get("project") != "retail" || r.query.Get("appNamespace") != "argocd" ||
				r.header.Get("Authorization") != "Bearer "+apiKey {
				t.Errorf("request = %s?%s (auth %q)", r.path, r.query.Encode(), r.header.Get("Authorization"))
			}
		})
	}
}

func TestArgoCD_FollowDeletedApplication(t *testing.T) {
	_, typ, job := setup(t, nil)
	job.Status, job.ExternalID = model.JobInProgress, "shop-prod" // never created on this server
	u, err := typ.Follower.Follow(context.Background(), job)
	if err != nil {
		t.Fatalf("follow: %v", err)
	}
	if u.Status != model.JobExternalRunNotFound || !strings.Contains(u.Message, `applications.argoproj.io "shop-prod" not found`) {
		t.Errorf("update = %+v, want externalRunNotFound with Argo CD's answer", u)
	}
}

func TestArgoCD_FollowFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		key       string
		fail      *failure
		status    int
		retryable bool
	}{
		{name: "key revoked", key: "revoked", status: 401},
		{name: "rights withdrawn", fail: &failure{status: 403, body: `{"error":"permission denied","code":7,"message":"permission denied","details":[]}`}, status: 403},
		{name: "server error", fail: &failure{status: 502, body: "Bad Gateway"}, status: 502, retryable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, typ, job := setup(t, nil)
			if _, err := typ.Agent.Dispatch(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			f.fail = tc.fail
			if tc.key != "" {
				job.Config["apiKey"] = tc.key
			}
			_, err := typ.Follower.Follow(context.Background(), job)
			e := agents.Classify(err)
			if e == nil || e.StatusCode != tc.status || e.Retryable != tc.retryable {
				t.Errorf("error = %+v, want status %d retryable %v", e, tc.status, tc.retryable)
			}
		})
	}
}

func TestArgoCD_Validate(t *testing.T) {
	typ := argocd.New(argocd.Options{})
	if !typ.IsSensitive("apiKey") || typ.Follower == nil {
		t.Errorf("type = %+v: want apiKey sensitive and a follower", typ)
	}
	with := func(change map[string]any) map[string]any {
		c := map[string]any{"serverUrl": "https://argocd.example.com", "apiKey": "k", "template": manifest}
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
		agentErr, jobErr string
	}{
		{"complete", with(nil), "", ""},
		{"agent without template", with(map[string]any{"template": nil}), "", "template"},
		{"templated manifest", with(map[string]any{"template": "metadata:\n  name: {{.Resource.Name}}\n"}), "", ""},
		{"object with templated name", with(map[string]any{"template": map[string]any{"metadata": map[string]any{"name": "{{.Resource.Name}}"}}}), "", ""},
		{"sealed key", with(map[string]any{"apiKey": map[string]any{"ciphertext": "AAAA"}}), "", ""},
		{"missing serverUrl", with(map[string]any{"serverUrl": nil}), "serverUrl", "serverUrl"},
		{"serverUrl not a URL", with(map[string]any{"serverUrl": "argocd:443"}), "serverUrl", "serverUrl"},
		{"missing apiKey", with(map[string]any{"apiKey": ""}), "apiKey", "apiKey"},
		{"template not YAML", with(map[string]any{"template": "metadata: [unclosed"}), "template", "template"},
		{"template a list", with(map[string]any{"template": "- a\n- b\n"}), "template", "template"},
		{"template of another kind", with(map[string]any{"template": "kind: Deployment\nmetadata: {name: x}\n"}), "template.kind", "template.kind"},
		{"template without name", with(map[string]any{"template": "kind: Application\nspec: {project: default}\n"}), "template.metadata.name", "template.metadata.name"},
		{"template a number", with(map[string]any{"template": 3.0}), "template", "template"},
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
