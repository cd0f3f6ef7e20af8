package engine

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Every place CEL is written checks it against the shapes of the variables
// it sees, and refuses it (400 naming the field) with nothing stored.
func TestEngine_CELTypeChecked(t *testing.T) {
	type table interface {
		Has(store.Reader, string) bool
	}
	policyWith := func(rule map[string]any) map[string]any { return policyOf("gate", "true", rule) }
	deploymentWith := func(key string, value any) map[string]any { return with(deployment("web", cel("true")), key, value) }
	rule := func(fromType, toType string, extra map[string]any) map[string]any {
		r := map[string]any{"id": "rel", "name": "rel", "reference": "rel", "fromType": fromType, "toType": toType,
			"matcher": map[string]any{"cel": "true"}}
		for k, v := range extra {
			r[k] = v
		}
		return r
	}
	tests := []struct {
		name      string
		eventType string
		data      map[string]any
		table     table
		id        string
		want      string // the start of the error, field first
	}{
		{"environment resource selector", "environment.created",
			environment("broken", cel(`resource.kidn == "Cluster"`)), store.Environments, "broken",
			"environment.resourceSelector: selector.cel: ERROR: <input>:1:9: undefined field 'kidn'"},
		{"environment selector too expensive", "environment.created",
			environment("broken", cel(`resource.metadata.all(k, resource.metadata.all(j, k == j || j != ""))`)),
			store.Environments, "broken", "environment.resourceSelector: selector.cel: the expression may cost"},
		{"deployment resource selector", "deployment.created",
			deployment("web", cel(`deployment.slgu == "web" && resource.kind == "Cluster"`)), store.Deployments, "web",
			"deployment.resourceSelector: selector.cel: ERROR: <input>:1:11: undefined field 'slgu'"},
		{"job agent selector", "deployment.created",
			deploymentWith("jobAgents", []any{map[string]any{"ref": "runner", "config": map[string]any{},
				"selector": `release.version.tga == "v1"`}}),
			store.Deployments, "web", "deployment.jobAgents[0].selector: selector.cel: ERROR: <input>:1:16: undefined field 'tga'"},
		{"variable value selector", "deployment-variable-value.created",
			variableValue("val", "replicas", 1, cel(`resource.nmae == "r1"`), 3), store.DeploymentVariableValues, "val",
			"deploymentVariableValue.resourceSelector: selector.cel: ERROR: <input>:1:9: undefined field 'nmae'"},
		{"policy selector, bare", "policy.created",
			policyOf("gate", `environment.nmae == "prod"`), store.Policies, "gate",
			"policy.selector: selector.cel: ERROR: <input>:1:12: undefined field 'nmae'"},
		{"policy selector, as an object", "policy.created",
			with(policyOf("gate", ""), "selector", cel(`environment.nmae == "prod"`)), store.Policies, "gate",
			"policy.selector: selector.cel: ERROR: <input>:1:12: undefined field 'nmae'"},
		{"version selector rule", "policy.created",
			policyWith(map[string]any{"versionSelector": map[string]any{"selector": cel(`version.tga.startsWith("v1")`)}}),
			store.Policies, "gate", "policy.rules[0].versionSelector.selector: selector.cel: ERROR: <input>:1:8: undefined field 'tga'"},
		{"deployment dependency rule", "policy.created",
			policyWith(map[string]any{"deploymentDependency": map[string]any{"dependsOn": `deployment.nmae == "db"`}}),
			store.Policies, "gate", "policy.rules[0].deploymentDependency.dependsOn: selector.cel: ERROR: <input>:1:11: undefined field 'nmae'"},
		{"environment progression rule", "policy.created",
			policyWith(map[string]any{"environmentProgression": map[string]any{
				"dependsOnEnvironmentSelector": cel(`environment.kind == "staging"`)}}),
			store.Policies, "gate", "policy.rules[0].environmentProgression.dependsOnEnvironmentSelector: selector.cel: ERROR: <input>:1:12: undefined field 'kind'"},
		{"verification condition", "policy.created",
			policyWith(map[string]any{"verification": map[string]any{"metrics": []any{map[string]any{
				"name": "health", "intervalSeconds": 60, "count": 1, "successCondition": "result.statusCode + 1",
				"provider": map[string]any{"type": "http", "url": "http://127.0.0.1:1/health"}}}}}),
			store.Policies, "gate", "policy.rules[0].verification.metrics[0].successCondition: selector.cel: expression must evaluate to bool"},
		{"relationship rule from selector", "relationship-rule.created",
			rule("resource", "deployment", map[string]any{"fromSelector": cel(`resource.kidn == "Cluster"`)}),
			store.RelationshipRules, "rel", "relationshipRule.fromSelector: selector.cel: ERROR: <input>:1:9: undefined field 'kidn'"},
		{"relationship rule to selector", "relationship-rule.created",
			rule("resource", "deployment", map[string]any{"toSelector": cel(`deployment.kind == "Cluster"`)}),
			store.RelationshipRules, "rel", "relationshipRule.toSelector: selector.cel: ERROR: <input>:1:11: undefined field 'kind'"},
		{"relationship rule matcher sees the rule's types", "relationship-rule.created",
			rule("resource", "deployment", map[string]any{"matcher": map[string]any{"cel": `from.kind == to.kind`}}),
			store.RelationshipRules, "rel", "relationshipRule.matcher.cel: selector.cel: ERROR: <input>:1:16: undefined field 'kind'"},
		{"workflow condition too expensive", "workflow.created",
			map[string]any{"id": "wf", "name": "wf", "jobs": []any{map[string]any{"id": "j", "name": "j", "ref": "runner",
				"config": map[string]any{}, "if": `inputs.targets.all(a, inputs.targets.all(b, a == b))`}}},
			store.Workflows, "wf", "workflow.jobs[0].if: selector.cel: the expression may cost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			base(h)
			h.must("job-agent.created", jobAgent("runner", map[string]any{}))
			h.must("deployment-variable.created", deploymentVariable("replicas", "replicas", nil))
			err := h.apply(tt.eventType, tt.data)
			if model.ErrorCode(err) != model.EINVALID {
				t.Fatalf("want EINVALID, got %v", err)
			}
			if !strings.Contains(err.Error(), ": "+tt.want) {
				t.Errorf("error:\n got  %s\n want %s…", err, tt.want)
			}
			if tt.table.Has(h.snapshot(), tt.id) {
				t.Errorf("%s was stored", tt.id)
			}
		})
	}
}

// Metadata and config are open maps: any key compiles, and a missing one is
// no match rather than an error.
func TestEngine_CELOpenMaps(t *testing.T) {
	h := newHarness(t)
	h.must("system.created", system("s"))
	h.must("environment.created", environment("core",
		cel(`resource.metadata["team"] == "core" && resource.config["tier"] == "gold"`)))
	h.must("deployment.created", deployment("api", cel("true")))
	h.must("system-environment.linked", linkE("s", "core"))
	h.must("system-deployment.linked", linkD("s", "api"))
	gold := resource("r1", map[string]string{"team": "core"})
	gold["config"] = map[string]any{"tier": "gold"}
	h.must("resource.created", gold)
	h.must("resource.created", resource("r2", map[string]string{"team": "edge"}))
	h.must("resource.created", resource("r3", map[string]string{"team": "core"})) // no tier
	h.wantTargets("r1/core/api")
}

// A policy's selector arrives bare or as {"cel": ...} and is kept as text.
func TestEngine_PolicySelectorForms(t *testing.T) {
	h := newHarness(t)
	base(h)
	const expr = `environment.name == "prod"`
	for id, sel := range map[string]any{"bare": expr, "object": cel(expr)} {
		h.must("policy.created", with(policyOf(id, ""), "selector", sel))
		p, err := store.Policies.Get(h.snapshot(), id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Selector != expr {
			t.Errorf("%s: selector = %q, want %q", id, p.Selector, expr)
		}
	}
	for name, sel := range map[string]any{
		"a JSON selector": map[string]any{"json": map[string]any{"type": "name", "operator": "equals", "value": "prod"}},
		"an extra key":    map[string]any{"cel": expr, "json": map[string]any{}},
		"a number":        3,
	} {
		if err := h.apply("policy.created", with(policyOf("bad", ""), "selector", sel)); model.ErrorCode(err) != model.EINVALID ||
			!strings.Contains(err.Error(), "selector must be a CEL string") {
			t.Errorf("%s: want EINVALID about the selector, got %v", name, err)
		}
	}
}

// with sets one field of an event's data and returns the data.
func with(data map[string]any, key string, value any) map[string]any {
	data[key] = value
	return data
}
