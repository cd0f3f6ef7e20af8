package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Tests of plans, eligible versions, freezes and variable sets over HTTP:
// routes, answers, paging and refusals.

const wsPath = "/v1/workspaces/" + testWS

func TestServer_Plans(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	evs := targetEvents("a")
	evs[1+3]["data"].(map[string]any)["jobAgentConfig"] = map[string]any{"image": "app:{{.Release.Version.Tag}}"}
	ts.post(evs...)
	ts.post(versionEvent("v1", "v1"))

	resp, body := ts.request(http.MethodPost, wsPath+"/deployments/api/plan", `{"version": {"tag": "v2"}}`, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST plan: %d %s", resp.StatusCode, body)
	}
	var plan model.DeploymentPlan
	if err := json.Unmarshal(body, &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Summary.Total != 1 || plan.Summary.Changed != 1 || len(plan.Targets) != 1 {
		t.Fatalf("plan: %s", body)
	}
	res := plan.Targets[0].Results[0]
	if !strings.Contains(res.Diff, "+image: app:v2") || res.Status != model.PlanComputed {
		t.Fatalf("result: %+v", res)
	}
	if loc := resp.Header.Get("Location"); loc != wsPath+"/deployments/api/plans/"+plan.ID {
		t.Fatalf("Location %q", loc)
	}
	status, stored := ts.do(http.MethodGet, resp.Header.Get("Location"), "")
	if status != http.StatusOK || strings.TrimSpace(string(stored)) != strings.TrimSpace(string(body)) {
		t.Fatalf("GET plan: %d\n%s\nwant\n%s", status, stored, body)
	}
	if n := len(items(t, ts.get(wsPath+"/deployment-versions"))); n != 1 {
		t.Fatalf("a plan created a version: %d versions", n)
	}

	for _, tc := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{http.MethodPost, "/deployments/api/plan", `{"version": {}}`, http.StatusBadRequest, "version.tag"},
		{http.MethodPost, "/deployments/api/plan", `{"version": {"tag": "v2"}, "metdata": {}}`, http.StatusBadRequest, "metdata"},
		{http.MethodPost, "/deployments/api/plan", `not json`, http.StatusBadRequest, "data"},
		{http.MethodPost, "/deployments/nope/plan", `{"version": {"tag": "v2"}}`, http.StatusNotFound, ""},
		{http.MethodGet, "/deployments/api/plans/nope", "", http.StatusNotFound, ""},
		{http.MethodGet, "/deployments/other/plans/" + plan.ID, "", http.StatusNotFound, ""},
	} {
		status, body := ts.do(tc.method, wsPath+tc.path, tc.body)
		if status != tc.status || errorBodyOf(t, body).Field != tc.field {
			t.Errorf("%s %s %s: %d %s, want %d naming %q", tc.method, tc.path, tc.body, status, body, tc.status, tc.field)
		}
	}
}

func TestServer_EligibleVersions(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(targetEvents("a")...)
	ts.post(event("policy.created", map[string]any{"id": "gate", "name": "gate", "enabled": true, "selector": "true",
		"createdAt": "2020-01-01T00:00:00Z", "rules": []any{map[string]any{"id": "approve", "anyApproval": map[string]any{"minApprovals": 1}}}}))
	for _, v := range []string{"v1", "v2", "v3"} {
		ts.post(versionEvent(v, v))
	}
	ts.post(event("user-approval-record.created", map[string]any{"versionId": "v1", "environmentId": "prod", "userId": "ann", "status": "approved"}))

	path := wsPath + "/release-targets/" + targetKey + "/eligible-versions"
	tags := func(page map[string]any) []string {
		var out []string
		for _, it := range items(t, page) {
			out = append(out, it.(map[string]any)["tag"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  string
		total float64
	}{
		{"", "v1", 1},
		{"?excludeRules=anyApproval", "v3 v2 v1", 3},
		{"?excludeRules=approve,versionCooldown", "v3 v2 v1", 3},
		{"?excludeRules=anyApproval&limit=1&offset=1", "v2", 3},
		{"?excludeRules=anyApproval&filter=" + url.QueryEscape(`version.tag != "v2"`), "v3 v1", 2},
	} {
		page := ts.get(path + tc.query)
		if got := strings.Join(tags(page), " "); got != tc.want || page["total"] != tc.total {
			t.Errorf("%s: %q (total %v), want %q (total %v)", tc.query, got, page["total"], tc.want, tc.total)
		}
	}
	for _, tc := range []struct {
		query  string
		status int
		field  string
	}{
		{"?filter=" + url.QueryEscape("version.tg == 1"), http.StatusBadRequest, "filter"},
		{"?excludeRules=aproval", http.StatusBadRequest, "excludeRules"},
		{"?limit=0", http.StatusBadRequest, "limit"},
	} {
		status, body := ts.do(http.MethodGet, path+tc.query, "")
		if status != tc.status || errorBodyOf(t, body).Field != tc.field {
			t.Errorf("%s: %d %s, want %d naming %s", tc.query, status, body, tc.status, tc.field)
		}
	}
	if status, _ := ts.do(http.MethodGet, wsPath+"/release-targets/nope/eligible-versions", ""); status != http.StatusNotFound {
		t.Errorf("an unknown target: %d", status)
	}
}

func TestServer_FreezesAndVariableSets(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(targetEvents("a")...)
	ts.post(event("freeze.created", map[string]any{"id": "f", "selector": `environment.name == "prod"`, "reason": "the incident"}))
	ts.post(event("variable-set.created", map[string]any{"id": "vs", "name": "defaults", "selector": "true", "priority": 3,
		"variables": []any{map[string]any{"key": "level", "value": "warn"}}}))
	ts.post(versionEvent("v1", "v1"))

	target := ts.get(wsPath + "/release-targets/" + targetKey)
	if target["reason"] != "frozen by the incident until it is lifted" || target["latestJob"] != nil {
		t.Fatalf("frozen target: %v", target)
	}
	ev := ts.get(wsPath + "/release-targets/" + targetKey + "/evaluate")
	if ev["frozen"] != "frozen by the incident until it is lifted" {
		t.Fatalf("evaluate: %v", ev)
	}
	if f := ts.get(wsPath + "/freezes/f"); f["reason"] != "the incident" || f["workspaceId"] != testWS {
		t.Fatalf("freeze: %v", f)
	}
	if n := len(items(t, ts.get(wsPath+"/freezes"))); n != 1 {
		t.Fatalf("%d freezes", n)
	}
	if vs := ts.get(wsPath + "/variable-sets/vs"); vs["priority"] != 3.0 || vs["updatedAt"] == nil {
		t.Fatalf("variable set: %v", vs)
	}
	status, body := ts.do(http.MethodPost, wsPath+"/events", mustJSON(t, event("release-target.deploy",
		map[string]any{"resourceId": "r1", "environmentId": "prod", "deploymentId": "api"})))
	if status != http.StatusConflict || !strings.Contains(errorOf(t, body), "frozen by the incident") {
		t.Fatalf("redeploy while frozen: %d %s", status, body)
	}
	ts.post(event("freeze.deleted", map[string]any{"id": "f"}))
	if target := ts.get(wsPath + "/release-targets/" + targetKey); target["latestJob"] == nil {
		t.Fatalf("lifted, the target still has no job: %v", target)
	}
	if status, _ := ts.do(http.MethodGet, wsPath+"/freezes/f", ""); status != http.StatusNotFound {
		t.Fatalf("a lifted freeze reads %d", status)
	}
}
