package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/argocd"
	"github.com/gatehouse-dev/gatehouse/internal/agents/tfc"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Tests of deployment plans: what a version that is not created would
// make on each target, and that making the plan changes nothing else.

const planSecret = "hunter2-the-token"

// planWorld is world with resources r1 and r2, variables (replicas with a
// value for r2, a sensitive token), and v1 deployed on r1.
func planWorld(t *testing.T, cfg Config) *harness {
	t.Helper()
	sealer, err := secrets.New(strings.Repeat("0f", 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sealer = sealer
	h := newHarnessWith(t, cfg)
	h.must("system.created", system("s"))
	h.must("job-agent.created", jobAgent("a", map[string]any{"queue": "deploys"}))
	h.must("environment.created", environment("prod", cel("true")))
	dep := deployment("api", cel("true"))
	dep["jobAgentId"] = "a"
	dep["jobAgentConfig"] = map[string]any{"image": "registry/api:{{.Release.Version.Tag}}",
		"replicas": "{{.Variables.replicas}}", "auth": "{{.Variables.token}}", "job": "{{.JobID}}"}
	h.must("deployment.created", dep)
	h.must("system-environment.linked", linkE("s", "prod"))
	h.must("system-deployment.linked", linkD("s", "api"))
	h.must("resource.created", resource("r1", map[string]string{}))
	h.must("resource.created", resource("r2", map[string]string{}))
	h.must("deployment-variable.created", deploymentVariable("replicas", "replicas", 2))
	h.must("deployment-variable-value.created", variableValue("big", "replicas", 1, cel(`resource.name == "r2"`), 3))
	h.must("deployment-variable.created", deploymentVariable("token", "token", nil))
	h.must("deployment-variable-value.created", variableValue("tok", "token", 1, nil, map[string]any{"sensitive": planSecret}))
	h.must("deployment-version.created", version("v1", t0, ""))
	h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
	h.must("job.updated", map[string]any{"id": h.onlyJob(prodKey("r2")).ID, "fieldsToUpdate": []string{"status"},
		"job": map[string]any{"status": model.JobCancelled}})
	return h
}

func (h *harness) plan(body any) (*model.DeploymentPlan, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.eng.PlanDeployment(context.Background(), h.ws, "api", raw)
}

func (h *harness) mustPlan(body any) *model.DeploymentPlan {
	h.t.Helper()
	p, err := h.plan(body)
	if err != nil {
		h.t.Fatalf("plan: %v", err)
	}
	return p
}

func planTarget(t *testing.T, p *model.DeploymentPlan, resource string) model.PlanTarget {
	t.Helper()
	for _, pt := range p.Targets {
		if pt.ResourceID == resource {
			return pt
		}
	}
	t.Fatalf("the plan has no target on %s", resource)
	return model.PlanTarget{}
}

func TestEngine_Plan(t *testing.T) {
	h := planWorld(t, Config{})
	before := tableDump(t, h.snapshot())
	p := h.mustPlan(map[string]any{"version": map[string]any{"tag": "v2", "jobAgentConfig": map[string]any{"debug": true}},
		"metadata": map[string]string{"pr": "42"}})

	if p.Status != model.PlanCompleted || p.Summary != (model.PlanSummary{Total: 2, Changed: 2}) {
		t.Fatalf("status %s, summary %+v", p.Status, p.Summary)
	}
	r1 := planTarget(t, p, "r1")
	if r1.CurrentRelease == nil || r1.CurrentRelease.Version.ID != "v1" || r1.Release.Version.Tag != "v2" {
		t.Fatalf("r1: current %v, release %v", r1.CurrentRelease, r1.Release)
	}
	if got, _ := json.Marshal(r1.Release.Variables["replicas"]); string(got) != "2" {
		t.Fatalf("r1 replicas %s", got)
	}
	res := r1.Results[0]
	if res.Status != model.PlanComputed || !res.HasChanges || res.JobAgentID != "a" || res.JobAgentType != "custom" {
		t.Fatalf("r1 result: %+v", res)
	}
	for _, want := range []string{"-image: registry/api:v1", "+image: registry/api:v2", "+debug: true"} {
		if !strings.Contains(res.Diff, want) {
			t.Errorf("r1 diff lacks %q:\n%s", want, res.Diff)
		}
	}
	for _, same := range []string{"job: <job id>", "queue: deploys", "replicas: \"2\"", "auth: (sensitive "} {
		changed := strings.Contains(res.Diff, "-"+same) || strings.Contains(res.Diff, "+"+same)
		if !strings.Contains(res.Current, same) || !strings.Contains(res.Proposed, same) || changed {
			t.Errorf("%q should be in both texts and not in the diff:\ncurrent:\n%s\nproposed:\n%s", same, res.Current, res.Proposed)
		}
	}
	if len(res.ContentHash) != 64 {
		t.Errorf("contentHash %q", res.ContentHash)
	}
	r2 := planTarget(t, p, "r2")
	if r2.CurrentRelease != nil || r2.Results[0].Current != "" || !strings.Contains(r2.Results[0].Proposed, `replicas: "3"`) {
		t.Fatalf("r2 (nothing deployed): %+v", r2.Results[0])
	}

	doc, _ := json.Marshal(p)
	if strings.Contains(string(doc), planSecret) {
		t.Fatal("the plan holds the clear secret")
	}
	after := tableDump(t, h.snapshot())
	for table, rows := range before {
		if table != store.DeploymentPlans.TableName() && string(after[table]) != string(rows) {
			t.Errorf("planning changed table %s", table)
		}
	}
	stored, err := h.eng.DeploymentPlan(h.snapshot(), "api", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := json.Marshal(stored); string(s) != string(doc) {
		t.Fatalf("the stored plan differs from the answer:\n%s\n%s", s, doc)
	}
}

func TestEngine_Plan_NoChanges(t *testing.T) {
	h := planWorld(t, Config{})
	p := h.mustPlan(map[string]any{"version": map[string]any{"tag": "v1"}})
	r1 := planTarget(t, p, "r1")
	if r1.HasChanges || r1.Results[0].Diff != "" || r1.Results[0].Current != r1.Results[0].Proposed {
		t.Fatalf("planning what runs shows changes:\n%s", r1.Results[0].Diff)
	}
	if p.Summary.Changed != 1 || p.Summary.Unchanged != 1 {
		t.Fatalf("summary %+v", p.Summary)
	}
}

func TestEngine_Plan_Agents(t *testing.T) {
	reg, err := agents.NewRegistry(argocd.New(argocd.Options{}), tfc.New(tfc.Options{}),
		&agents.Type{Name: "custom", Pull: true})
	if err != nil {
		t.Fatal(err)
	}
	// Terraform Cloud as it answers for an organization without the
	// planned workspaces: the plan cannot make a speculative run there.
	var mu sync.Mutex
	var asked []string
	terraform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tf-s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/api/v2/ping" {
			w.Header().Set("TFP-API-Version", "2.6")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/vnd.api+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[{"status":"404","title":"not found"}]}`))
	}))
	defer terraform.Close()
	h := planWorld(t, Config{Agents: reg})
	h.must("job-agent.created", map[string]any{"id": "argo", "name": "argo", "type": argocd.TypeName,
		"config": map[string]any{"serverUrl": "https://argo.example.com", "apiKey": "argo-s3cret"}})
	h.must("job-agent.created", map[string]any{"id": "tf", "name": "tf", "type": tfc.TypeName,
		"config": map[string]any{"organization": "acme", "token": "tf-s3cret", "address": terraform.URL}})
	dep := deployment("api", cel("true"))
	dep["jobAgents"] = []any{
		map[string]any{"ref": "argo", "config": map[string]any{"template": "apiVersion: argoproj.io/v1alpha1\nkind: Application\n" +
			"metadata:\n  name: api-{{.Resource.Name}}\nspec:\n  source:\n    targetRevision: '{{.Release.Version.Tag}}'\n"}},
		map[string]any{"ref": "tf", "config": map[string]any{"workspace": "api-{{.Resource.Name}}"}},
		map[string]any{"ref": "gone"},
	}
	h.must("deployment.updated", dep)
	p := h.mustPlan(map[string]any{"version": map[string]any{"tag": "v2"}})
	results := planTarget(t, p, "r1").Results
	if len(results) != 3 {
		t.Fatalf("%d results, want one per agent", len(results))
	}
	argo, tf, gone := results[0], results[1], results[2]
	if argo.Status != model.PlanComputed || !strings.Contains(argo.Proposed, "kind: Application") ||
		!strings.Contains(argo.Proposed, "targetRevision: v2") || strings.Contains(argo.Proposed, "apiKey") {
		t.Fatalf("argo-cd plans the Application: %+v", argo)
	}
	if tf.Status != model.PlanComputed || !strings.Contains(tf.Message, "api-r1 does not exist yet") ||
		!strings.Contains(tf.Proposed, "plan: 0 to add") || strings.Contains(tf.Proposed+tf.Message, "tf-s3cret") {
		t.Fatalf("terraform-cloud asks for the workspace and finds none: %+v", tf)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(asked, "GET /api/v2/organizations/acme/workspaces/api-r1") {
		t.Errorf("Terraform Cloud was not asked for the workspace: %v", asked)
	}
	if gone.Status != model.PlanErrored || !strings.Contains(gone.Message, `"gone" does not exist`) {
		t.Fatalf("a missing agent errors: %+v", gone)
	}
	if p.Status != model.PlanFailed || p.Summary.Errored != 2 || p.Summary.Unsupported != 0 {
		t.Fatalf("status %s, summary %+v", p.Status, p.Summary)
	}
}

func TestEngine_Plan_Refused(t *testing.T) {
	tests := []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"no body", nil, model.EINVALID, "data"},
		{"no tag", map[string]any{"version": map[string]any{"name": "x"}}, model.EINVALID, "version.tag"},
		{"an unknown field", map[string]any{"version": map[string]any{"tag": "v2", "stauts": "ready"}}, model.EINVALID, "version.stauts"},
		{"a template that does not parse", map[string]any{"version": map[string]any{"tag": "v2",
			"jobAgentConfig": map[string]any{"x": "{{.Release"}}}, model.EINVALID, "version.jobAgentConfig.x"},
		{"a sensitive value", map[string]any{"version": map[string]any{"tag": "v2",
			"jobAgentConfig": map[string]any{"pw": map[string]any{"sensitive": "x"}}}}, model.EINVALID, "version.jobAgentConfig.pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := planWorld(t, Config{})
			_, err := h.plan(tt.body)
			if model.ErrorCode(err) != tt.code || model.ErrorField(err) != tt.field {
				t.Fatalf("want %s naming %q, got %v", tt.code, tt.field, err)
			}
			if n := store.DeploymentPlans.Count(h.snapshot()); n != 0 {
				t.Fatalf("a refused plan was stored")
			}
		})
	}
	t.Run("an id taken by another plan", func(t *testing.T) {
		h := planWorld(t, Config{})
		body := map[string]any{"id": "p1", "version": map[string]any{"tag": "v2"}}
		if p := h.mustPlan(body); p.ID != "p1" {
			t.Fatalf("plan id %q, want the one asked for", p.ID)
		}
		if _, err := h.plan(body); model.ErrorCode(err) != model.ECONFLICT {
			t.Fatalf("want ECONFLICT, got %v", err)
		}
	})
	t.Run("an unknown deployment", func(t *testing.T) {
		h := planWorld(t, Config{})
		_, err := h.eng.PlanDeployment(context.Background(), h.ws, "nope", json.RawMessage(`{"version":{"tag":"v2"}}`))
		if model.ErrorCode(err) != model.ENOTFOUND {
			t.Fatalf("want ENOTFOUND, got %v", err)
		}
	})
}

func TestEngine_Plan_Retention(t *testing.T) {
	clock := &fakeClock{now: t0}
	h := planWorld(t, Config{Clock: clock.Now})
	first := h.mustPlan(map[string]any{"version": map[string]any{"tag": "v2"}})
	for range maxPlansPerDeployment {
		clock.Set(clock.Now().Add(time.Minute))
		h.mustPlan(map[string]any{"version": map[string]any{"tag": "v2"}})
	}
	if n := store.DeploymentPlans.Count(h.snapshot()); n != maxPlansPerDeployment {
		t.Fatalf("%d plans kept, want %d", n, maxPlansPerDeployment)
	}
	if _, err := h.eng.DeploymentPlan(h.snapshot(), "api", first.ID); model.ErrorCode(err) != model.ENOTFOUND {
		t.Fatalf("the oldest plan is still there: %v", err)
	}
	last := h.mustPlan(map[string]any{"version": map[string]any{"tag": "v3"}})
	if _, err := h.eng.DeploymentPlan(h.snapshot(), "other", last.ID); model.ErrorCode(err) != model.ENOTFOUND {
		t.Fatalf("a plan read under another deployment: %v", err)
	}
	clock.Set(last.CreatedAt.Add(PlanRetention))
	if _, err := h.eng.DeploymentPlan(h.snapshot(), "api", last.ID); model.ErrorCode(err) != model.ENOTFOUND ||
		!strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired plan: %v", err)
	}
	h.mustPlan(map[string]any{"version": map[string]any{"tag": "v4"}})
	if n := store.DeploymentPlans.Count(h.snapshot()); n != 1 {
		t.Fatalf("expired plans are forgotten when the next is made; %d kept", n)
	}
}

func TestSortPlanTargets(t *testing.T) {
	targets := []model.PlanTarget{
		{Key: "k1", EnvironmentName: "prod", ResourceName: "b"},
		{Key: "k2", EnvironmentName: "dev", ResourceName: "z"},
		{Key: "k3", EnvironmentName: "prod", ResourceName: "a"},
	}
	jobs := []plannedJob{{target: 0}, {target: 1}, {target: 2}}
	sortPlanTargets(targets, jobs)
	got := []string{targets[0].Key, targets[1].Key, targets[2].Key}
	if strings.Join(got, " ") != "k2 k3 k1" {
		t.Fatalf("order %v", got)
	}
	for i, want := range []string{"k1", "k2", "k3"} {
		if targets[jobs[i].target].Key != want {
			t.Errorf("job %d points at %s, want %s", i, targets[jobs[i].target].Key, want)
		}
	}
}
