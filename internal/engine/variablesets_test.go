package engine

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Tests of variable sets: where they stand among a variable's candidates
// (resource variable, deployment variable values, sets by priority,
// default) and which targets a change re-evaluates.

func variableSet(id, selector string, priority int, vars map[string]any) map[string]any {
	list := []any{}
	for k, v := range vars {
		list = append(list, map[string]any{"key": k, "value": v})
	}
	return map[string]any{"id": id, "name": id, "selector": selector, "priority": priority, "variables": list}
}

// released returns the value a target's desired release has for key, as
// JSON ("" when the key is absent).
func (h *harness) released(targetKey, key string) string {
	h.t.Helper()
	rel := h.desired(targetKey)
	if rel == nil {
		h.t.Fatalf("%s has no desired release", targetKey)
	}
	v, ok := rel.Variables[key]
	if !ok {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestEngine_VariableSets(t *testing.T) {
	tests := []struct {
		name  string
		steps func(h *harness)
		want  map[string]string // resource → the value of "level" in its release
	}{
		{"a set fills a declared key with no value", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", nil))
			h.must("variable-set.created", variableSet("prod", `resource.metadata["tier"] == "gold"`, 1, map[string]any{"level": "warn"}))
		}, map[string]string{"r1": `"warn"`, "r2": ""}},
		{"a set comes before the default", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", "info"))
			h.must("variable-set.created", variableSet("prod", `resource.metadata["tier"] == "gold"`, 1, map[string]any{"level": "warn"}))
		}, map[string]string{"r1": `"warn"`, "r2": `"info"`}},
		{"a deployment variable value comes before a set", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", "info"))
			h.must("deployment-variable-value.created", variableValue("val", "level", 1, cel(`resource.name == "r1"`), "debug"))
			h.must("variable-set.created", variableSet("all", "true", 1, map[string]any{"level": "warn"}))
		}, map[string]string{"r1": `"debug"`, "r2": `"warn"`}},
		{"a resource variable comes before a set", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", nil))
			h.must("resource-variable.created", map[string]any{"resourceId": "r2", "key": "level", "value": "trace"})
			h.must("variable-set.created", variableSet("all", "true", 1, map[string]any{"level": "warn"}))
		}, map[string]string{"r1": `"warn"`, "r2": `"trace"`}},
		{"the highest priority set wins, ties by id", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", nil))
			h.must("variable-set.created", variableSet("b", "true", 5, map[string]any{"level": "b"}))
			h.must("variable-set.created", variableSet("a", "true", 5, map[string]any{"level": "a"}))
			h.must("variable-set.created", variableSet("low", "true", 1, map[string]any{"level": "low"}))
			h.must("variable-set.created", variableSet("gold", `resource.metadata["tier"] == "gold"`, 9, map[string]any{"level": "gold"}))
		}, map[string]string{"r1": `"gold"`, "r2": `"a"`}},
		{"a set without the key passes to the next", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", nil))
			h.must("variable-set.created", variableSet("high", "true", 9, map[string]any{"other": "x"}))
			h.must("variable-set.created", variableSet("low", "true", 1, map[string]any{"level": "low"}))
		}, map[string]string{"r1": `"low"`, "r2": `"low"`}},
		{"an unresolvable reference passes to the next set", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", nil))
			h.must("variable-set.created", variableSet("high", "true", 9, map[string]any{"level": map[string]any{"reference": "nothing", "path": []string{"name"}}}))
			h.must("variable-set.created", variableSet("low", "true", 1, map[string]any{"level": "low"}))
		}, map[string]string{"r1": `"low"`, "r2": `"low"`}},
		{"a set adds no key the deployment does not declare", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("other", "other", "x"))
			h.must("variable-set.created", variableSet("all", "true", 1, map[string]any{"level": "warn"}))
		}, map[string]string{"r1": "", "r2": ""}},
		{"a set over the environment and deployment", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", nil))
			h.must("variable-set.created", variableSet("prod-api", `environment.name == "prod" && deployment.name == "api"`, 1,
				map[string]any{"level": map[string]any{"object": map[string]any{"n": 1}}}))
		}, map[string]string{"r1": `{"object":{"n":1}}`, "r2": `{"object":{"n":1}}`}},
		{"deleting a set removes its values", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("level", "level", "info"))
			h.must("variable-set.created", variableSet("all", "true", 1, map[string]any{"level": "warn"}))
			h.must("variable-set.deleted", map[string]any{"id": "all"})
		}, map[string]string{"r1": `"info"`, "r2": `"info"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h)
			h.must("resource.created", resource("r1", map[string]string{"tier": "gold"}))
			h.must("resource.created", resource("r2", map[string]string{}))
			tt.steps(h)
			h.must("deployment-version.created", version("v1", t0, ""))
			for r, want := range tt.want {
				key := "level"
				if got := h.released(prodKey(r), key); got != want {
					t.Errorf("%s: level = %s, want %s", r, got, want)
				}
			}
		})
	}
}

// TestEngine_VariableSets_Changes checks that a set's change re-evaluates
// the targets it picked before and those it picks now, and that a changed
// value is a new release with a new job.
func TestEngine_VariableSets_Changes(t *testing.T) {
	h := newHarness(t)
	world(h)
	h.must("resource.created", resource("r1", map[string]string{"tier": "gold"}))
	h.must("resource.created", resource("r2", map[string]string{}))
	h.must("deployment-variable.created", deploymentVariable("level", "level", "info"))
	h.must("deployment-version.created", version("v1", t0, ""))
	for _, r := range []string{"r1", "r2"} {
		h.finish(h.onlyJob(prodKey(r)).ID, model.JobSuccessful)
	}

	gold := `resource.metadata["tier"] == "gold"`
	h.must("variable-set.created", variableSet("s", gold, 1, map[string]any{"level": "warn"}))
	if got := h.released(prodKey("r1"), "level"); got != `"warn"` {
		t.Fatalf("after create, r1 level = %s", got)
	}
	if n := len(h.jobsOn(prodKey("r1"))); n != 2 {
		t.Fatalf("a changed variable is a new release with a new job; r1 has %d jobs", n)
	}
	if n := len(h.jobsOn(prodKey("r2"))); n != 1 {
		t.Fatalf("r2 is not picked; it has %d jobs", n)
	}
	h.finish(h.jobsOn(prodKey("r1"))[1].ID, model.JobSuccessful)

	// Moving the selector from r1 to r2 re-evaluates both.
	h.must("variable-set.updated", variableSet("s", `resource.name == "r2"`, 1, map[string]any{"level": "warn"}))
	if a, b := h.released(prodKey("r1"), "level"), h.released(prodKey("r2"), "level"); a != `"info"` || b != `"warn"` {
		t.Fatalf("after moving the selector: r1 %s, r2 %s", a, b)
	}
	set, err := store.VariableSets.Get(h.snapshot(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if set.CreatedAt.After(set.UpdatedAt) || set.Variables[0].VariableSetID != "s" || set.WorkspaceID != h.ws {
		t.Fatalf("stored set: %+v", set)
	}
}

func TestEngine_VariableSets_Refused(t *testing.T) {
	tests := []struct {
		name  string
		data  map[string]any
		field string
	}{
		{"no selector", variableSet("s", "", 1, nil), "variableSet.selector"},
		{"a selector that does not compile", variableSet("s", "resource.name ==", 1, nil), "variableSet.selector"},
		{"a selector over what targets lack", variableSet("s", `version.tag == "x"`, 1, nil), "variableSet.selector"},
		{"no name", map[string]any{"id": "s", "selector": "true", "variables": []any{}}, "variableSet.name"},
		{"a key twice", map[string]any{"id": "s", "name": "s", "selector": "true", "variables": []any{
			map[string]any{"key": "a", "value": 1}, map[string]any{"key": "a", "value": 2}}}, "variableSet.variables[1].key"},
		{"a variable without a value", map[string]any{"id": "s", "name": "s", "selector": "true", "variables": []any{
			map[string]any{"key": "a"}}}, "variableSet.variables[0].value"},
		{"a sensitive value without a key to seal it", variableSet("s", "true", 1, map[string]any{"a": map[string]any{"sensitive": "x"}}),
			"variableSet.variables[0].value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			err := h.apply("variable-set.created", tt.data)
			if model.ErrorCode(err) != model.EINVALID || model.ErrorField(err) != tt.field {
				t.Fatalf("want EINVALID naming %s, got %v (field %q)", tt.field, err, model.ErrorField(err))
			}
			if store.VariableSets.Count(h.snapshot()) != 0 {
				t.Fatal("the refused set was stored")
			}
		})
	}
}
