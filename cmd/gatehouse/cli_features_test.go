package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Tests of plan, eligible and the freeze and variable set views.

func TestPlan_ShowsWhatEachTargetWouldGet(t *testing.T) {
	c := rollout(t)
	writeFile(t, "version.yaml", "tag: v1.1.0\njobAgentConfig:\n  image: registry.example.com/api:{{.Release.Version.Tag}}\n")
	out := c.must("plan", "api", "-f", "version.yaml")
	golden(t, "plan_api", out)

	var plan struct {
		ID      string `json:"id"`
		Summary struct {
			Total   int `json:"total"`
			Changed int `json:"changed"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(c.must("plan", "api", "--tag", "v1.0.0", "-o", "json")), &plan); err != nil {
		t.Fatal(err)
	}
	// What runs in dev and staging already is v1.0.0 with the same config:
	// only the four prod targets, where nothing runs yet, would change.
	if plan.Summary.Total != 12 || plan.Summary.Changed != 4 {
		t.Errorf("plan of the running version: %+v", plan.Summary)
	}
	if _, err := c.run("plan", "api"); err == nil || !strings.Contains(err.Error(), "needs a tag") {
		t.Errorf("plan without a tag: %v", err)
	}
	writeFile(t, "bad.yaml", "tag: v2\njobAgentConfig:\n  image: '{{.Release.Version.Tagg}}'\n")
	if _, err := c.run("plan", "api", "-f", "bad.yaml"); err == nil || !strings.Contains(err.Error(), "version.jobAgentConfig.image") {
		t.Errorf("plan with a broken template: %v", err)
	}
	if versions := c.must("get", "versions", "--deployment", "api"); strings.Contains(versions, "v1.1.0") {
		t.Errorf("planning created a version:\n%s", versions)
	}
}

func TestEligible_WhatIfWithoutARule(t *testing.T) {
	c := rollout(t)
	if out := c.must("eligible", "api/prod/prod-eu-west-1"); out != "No version may deploy there now.\n" {
		t.Errorf("eligible before the approval:\n%s", out)
	}
	golden(t, "eligible_without_approval", c.must("eligible", "api/prod/prod-eu-west-1", "--exclude-rules", "anyApproval"))
	if out := c.must("eligible", "api/staging/staging-us-east-1", "--filter", `version.tag == "v9"`); !strings.HasPrefix(out, "No version") {
		t.Errorf("eligible filtered to nothing:\n%s", out)
	}
	if _, err := c.run("eligible", "api/prod/prod-eu-west-1", "--exclude-rules", "anyAproval"); err == nil ||
		!strings.Contains(err.Error(), "excludeRules") {
		t.Errorf("an unknown rule: %v", err)
	}
}

func TestGet_FreezesAndVariableSets(t *testing.T) {
	c := rollout(t)
	c.send(map[string]any{"eventType": "freeze.created", "data": map[string]any{"id": "11111111-2222-5333-8444-555555555555",
		"selector": `environment.name == "prod"`, "reason": "the quarter's close", "until": "2026-03-31T00:00:00Z"}})
	c.send(map[string]any{"eventType": "variable-set.created", "data": map[string]any{"id": "22222222-2222-5333-8444-555555555555",
		"name": "eu defaults", "selector": `resource.metadata["region"] == "eu-west-1"`, "priority": 5,
		"variables": []any{map[string]any{"key": "replicas", "value": 3}, map[string]any{"key": "token", "value": map[string]any{"sensitive": "s3cret"}}}}})
	golden(t, "get_freezes", c.must("get", "freezes"))
	golden(t, "get_variable_sets", c.must("get", "variable-sets", "-o", "wide"))
	var f map[string]any
	if err := json.Unmarshal([]byte(c.must("get", "freeze", "11111111-2222-5333-8444-555555555555", "-o", "json")), &f); err != nil {
		t.Fatal(err)
	}
	if f["reason"] != "the quarter's close" {
		t.Errorf("get freeze -o json: %v", f)
	}
	explain := c.must("explain", "api/prod/prod-eu-west-1")
	if !strings.Contains(explain, "Jobs held:        frozen by the quarter's close until 2026-03-31T00:00:00Z") {
		t.Errorf("explain of a frozen target:\n%s", explain)
	}
}
