package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// TestServer_VersionDependencies: a version's dependencies are stored as
// sent and explained under checks; a bad one is refused naming its field.
func TestServer_VersionDependencies(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(targetEvents("")...)
	ts.post(event("deployment.created", map[string]any{"id": "db", "name": "db", "slug": "db",
		"resourceSelector": map[string]any{"cel": "true"}}))
	deps := map[string]any{"db": map[string]any{"versionSelector": `version.tag.startsWith("v2")`}}
	ts.post(event("deployment-version.created", map[string]any{"id": "v1", "tag": "v1", "name": "v1", "deploymentId": "api",
		"dependencies": deps}))

	v := ts.get("/v1/workspaces/" + testWS + "/deployment-versions/v1")
	if got, _ := json.Marshal(v["dependencies"]); string(got) != `{"db":{"versionSelector":"version.tag.startsWith(\"v2\")"}}` {
		t.Errorf("dependencies read back as %s", got)
	}
	var ev struct {
		Allowed bool `json:"allowed"`
		Checks  []struct {
			Kind    string `json:"kind"`
			RuleID  string `json:"ruleId"`
			Allowed bool   `json:"allowed"`
			Message string `json:"message"`
		} `json:"checks"`
	}
	body := mustGet(t, ts, "/v1/workspaces/"+testWS+"/release-targets/"+targetKey+"/evaluate?versionId=v1")
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Allowed || len(ev.Checks) != 1 || ev.Checks[0].Kind != "deploymentVersionDependency" ||
		ev.Checks[0].RuleID != "deployment-version-dependency" || !strings.Contains(ev.Checks[0].Message, "db") {
		t.Fatalf("evaluation %s: want a failed dependency check naming db", body)
	}

	status, resp := ts.do(http.MethodPost, eventsPath, mustJSON(t, event("deployment-version.created", map[string]any{
		"id": "v2", "tag": "v2", "name": "v2", "deploymentId": "api",
		"dependencies": map[string]any{"db": map[string]any{"versionSelector": "version.nope"}}})))
	if e := errorBodyOf(t, resp); status != http.StatusBadRequest || e.Field != "deploymentVersion.dependencies.db.versionSelector" {
		t.Errorf("a selector over a missing field: %d, field %q (%s)", status, e.Field, e.Error)
	}
}

// TestServer_VerificationTemplates: a metric's templates are checked when
// the policy is written; one naming a missing field is a 400 naming it.
func TestServer_VerificationTemplates(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	policy := func(url string) string {
		return mustJSON(t, event("policy.created", map[string]any{"id": "p", "name": "p", "enabled": true, "selector": "true",
			"rules": []any{map[string]any{"id": "r", "verification": map[string]any{"metrics": []any{map[string]any{
				"name": "m", "count": 1, "successCondition": `result.json.region == "{{.Resource.Metadata.region}}"`,
				"provider": map[string]any{"type": "http", "url": url}}}}}}}))
	}
	status, body := ts.do(http.MethodPost, eventsPath, policy("https://{{.Resource.Nmae}}/health"))
	if e := errorBodyOf(t, body); status != http.StatusBadRequest || e.Field != "policy.rules[0].verification.metrics[0].provider.url" {
		t.Fatalf("a template naming a missing field: %d, field %q (%s)", status, e.Field, e.Error)
	}
	if status, body := ts.do(http.MethodPost, eventsPath, policy("https://{{.Resource.Metadata.host}}/health")); status != http.StatusAccepted {
		t.Fatalf("a template to render when measured: %d %s", status, body)
	}
}

// TestServer_ProgressionRequireVerificationPassed: the option is kept and
// named in the evaluation.
func TestServer_ProgressionRequireVerificationPassed(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(targetEvents("")...)
	ts.post(
		event("environment.created", map[string]any{"id": "staging", "name": "staging", "resourceSelector": map[string]any{"cel": "true"}}),
		event("system-environment.linked", map[string]any{"systemId": "s", "environmentId": "staging"}),
		event("policy.created", map[string]any{"id": "p", "name": "p", "enabled": true, "selector": `environment.name == "prod"`,
			"rules": []any{map[string]any{"id": "r", "environmentProgression": map[string]any{
				"dependsOnEnvironmentSelector": map[string]any{"cel": `environment.name == "staging"`}, "requireVerificationPassed": true}}}}),
		versionEvent("v1", "v1"),
	)
	body := mustGet(t, ts, "/v1/workspaces/"+testWS+"/release-targets/"+targetKey+"/evaluate?versionId=v1")
	if !strings.Contains(string(body), `"requireVerificationPassed":true`) || !strings.Contains(string(body), "succeed and pass verification") {
		t.Fatalf("evaluation %s does not name requireVerificationPassed", body)
	}
	p := ts.get("/v1/workspaces/" + testWS + "/policies/p")
	if b, _ := json.Marshal(p["rules"]); !strings.Contains(string(b), `"requireVerificationPassed":true`) {
		t.Errorf("policy rules read back as %s", b)
	}
}
