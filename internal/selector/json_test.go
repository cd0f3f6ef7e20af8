package selector_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

func TestEnv_Compile_JSONConditions(t *testing.T) {
	env := selector.ResourceEnv()
	version := map[string]any{
		"id":        "v-1",
		"name":      "Release 1.2.0",
		"tag":       "v1.2.0",
		"status":    "ready",
		"createdAt": time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	cond := func(typ, op, value string) string {
		return `{"json": {"type": "` + typ + `", "operator": "` + op + `", "value": "` + value + `"}}`
	}
	tests := []struct {
		name    string
		sel     string
		subject map[string]any // defaults to prodResource()
		want    bool
	}{
		// String operators on every string field.
		{"name equals", cond("name", "equals", "api-prod-1"), nil, true},
		{"name equals is case sensitive", cond("name", "equals", "API-prod-1"), nil, false},
		{"name not-equals", cond("name", "not-equals", "db"), nil, true},
		{"name not-equals same", cond("name", "not-equals", "api-prod-1"), nil, false},
		{"name starts-with", cond("name", "starts-with", "api-"), nil, true},
		{"name starts-with miss", cond("name", "starts-with", "db-"), nil, false},
		{"name ends-with", cond("name", "ends-with", "-1"), nil, true},
		{"name ends-with miss", cond("name", "ends-with", "-2"), nil, false},
		{"name contains", cond("name", "contains", "prod"), nil, true},
		{"name contains miss", cond("name", "contains", "stag"), nil, false},
		{"name regex unanchored", cond("name", "regex", "prod-[0-9]"), nil, true},
		{"name regex anchored miss", cond("name", "regex", "^prod"), nil, false},
		{"kind equals", cond("kind", "equals", "KubernetesCluster"), nil, true},
		{"identifier starts-with", cond("identifier", "starts-with", "clusters/"), nil, true},
		{"version ends-with", cond("version", "ends-with", "/v1"), nil, true},
		{"id equals", cond("id", "equals", "r-1"), nil, true},
		{"tag on version", cond("tag", "regex", `^v1\\.2\\.`), version, true},
		{"status on version", cond("status", "equals", "ready"), version, true},
		{"tag missing on resource", cond("tag", "equals", ""), nil, false},
		{"missing field never matches not-equals", cond("status", "not-equals", "x"), nil, false},
		{"non-string field", cond("name", "equals", "3"), map[string]any{"name": int64(3)}, false},

		// Metadata.
		{"metadata equals", `{"json": {"type": "metadata", "key": "env", "operator": "equals", "value": "prod"}}`, nil, true},
		{"metadata contains", `{"json": {"type": "metadata", "key": "region", "operator": "contains", "value": "east"}}`, nil, true},
		{"metadata regex", `{"json": {"type": "metadata", "key": "region", "operator": "regex", "value": "^us-(east|west)-[0-9]$"}}`, nil, true},
		{"metadata missing key", `{"json": {"type": "metadata", "key": "team", "operator": "equals", "value": "core"}}`, nil, false},
		{"metadata missing key not-equals", `{"json": {"type": "metadata", "key": "team", "operator": "not-equals", "value": "core"}}`, nil, false},
		{"no metadata at all", `{"json": {"type": "metadata", "key": "env", "operator": "equals", "value": "prod"}}`, map[string]any{"name": "x"}, false},
		{"typed metadata map", `{"json": {"type": "metadata", "key": "env", "operator": "starts-with", "value": "pr"}}`,
			map[string]any{"metadata": map[string]string{"env": "prod"}}, true},

		// Dates: the resource was created at 2024-05-01T12:00:00Z.
		{"created before later", cond("created-at", "before", "2024-05-01T12:00:01Z"), nil, true},
		{"created before boundary", cond("created-at", "before", "2024-05-01T12:00:00Z"), nil, false},
		{"created before-or-on boundary", cond("created-at", "before-or-on", "2024-05-01T12:00:00Z"), nil, true},
		{"created before-or-on earlier", cond("created-at", "before-or-on", "2024-05-01T11:59:59Z"), nil, false},
		{"created after earlier", cond("created-at", "after", "2024-05-01T11:59:59Z"), nil, true},
		{"created after boundary", cond("created-at", "after", "2024-05-01T12:00:00Z"), nil, false},
		{"created after-or-on boundary", cond("created-at", "after-or-on", "2024-05-01T12:00:00Z"), nil, true},
		{"created after-or-on later", cond("created-at", "after-or-on", "2024-05-01T12:00:01Z"), nil, false},
		{"boundary in other zone", cond("created-at", "after-or-on", "2024-05-01T14:00:00+02:00"), nil, true},
		{"updated after", cond("updated-at", "after", "2024-05-15T00:00:00Z"), nil, true},
		{"updated before", cond("updated-at", "before", "2024-05-15T00:00:00Z"), nil, false},
		{"time.Time field", cond("created-at", "before-or-on", "2024-05-01T12:00:00Z"), version, true},
		{"missing date", cond("updated-at", "before", "2030-01-01T00:00:00Z"), version, false},
		{"unparseable date field", cond("created-at", "before", "2030-01-01T00:00:00Z"), map[string]any{"createdAt": "yesterday"}, false},

		// Groups.
		{"and all true", `{"json": {"operator": "and", "conditions": [
			{"type": "kind", "operator": "equals", "value": "KubernetesCluster"},
			{"type": "metadata", "key": "env", "operator": "equals", "value": "prod"}]}}`, nil, true},
		{"and one false", `{"json": {"operator": "and", "conditions": [
			{"type": "kind", "operator": "equals", "value": "KubernetesCluster"},
			{"type": "metadata", "key": "env", "operator": "equals", "value": "dev"}]}}`, nil, false},
		{"or one true", `{"json": {"operator": "or", "conditions": [
			{"type": "kind", "operator": "equals", "value": "VM"},
			{"type": "metadata", "key": "env", "operator": "equals", "value": "prod"}]}}`, nil, true},
		{"or none true", `{"json": {"operator": "or", "conditions": [
			{"type": "kind", "operator": "equals", "value": "VM"},
			{"type": "metadata", "key": "env", "operator": "equals", "value": "dev"}]}}`, nil, false},
		{"empty and matches all", `{"json": {"operator": "and", "conditions": []}}`, nil, true},
		{"empty or matches nothing", `{"json": {"operator": "or", "conditions": []}}`, nil, false},
		{"nested and inside or", `{"json": {"operator": "or", "conditions": [
			{"type": "name", "operator": "equals", "value": "nope"},
			{"operator": "and", "conditions": [
				{"type": "metadata", "key": "region", "operator": "starts-with", "value": "us-"},
				{"operator": "or", "conditions": [
					{"type": "created-at", "operator": "after", "value": "2030-01-01T00:00:00Z"},
					{"type": "id", "operator": "equals", "value": "r-1"}]}]}]}}`, nil, true},
		{"nested or inside and fails", `{"json": {"operator": "and", "conditions": [
			{"type": "name", "operator": "contains", "value": "api"},
			{"operator": "or", "conditions": [
				{"type": "kind", "operator": "equals", "value": "VM"},
				{"type": "metadata", "key": "team", "operator": "equals", "value": "core"}]}]}}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := env.Compile(parse(t, tt.sel))
			if err != nil {
				t.Fatalf("Compile() error: %v", err)
			}
			subject := tt.subject
			if subject == nil {
				subject = prodResource()
			}
			got, err := m.MatchErr(map[string]any{"resource": subject})
			if err != nil {
				t.Fatalf("MatchErr() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("MatchErr() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEnv_Compile_JSONInvalid(t *testing.T) {
	env := selector.ResourceEnv()
	tests := []struct {
		name    string
		sel     string
		wantErr string
	}{
		{"unknown operator in group", `{"json": {"operator": "and", "conditions": [
			{"type": "name", "operator": "equals", "value": "a"},
			{"operator": "foo", "conditions": []}]}}`, `selector.json.conditions[1].operator: unknown operator "foo"`},
		{"unknown string operator", `{"json": {"type": "name", "operator": "like", "value": "a"}}`, `selector.json.operator: unknown operator "like"`},
		{"date operator on string field", `{"json": {"type": "name", "operator": "before", "value": "a"}}`, `selector.json.operator: unknown operator "before"`},
		{"string operator on date field", `{"json": {"type": "created-at", "operator": "equals", "value": "2024-01-01T00:00:00Z"}}`, `selector.json.operator: unknown operator "equals"`},
		{"unknown type", `{"json": {"type": "color", "operator": "equals", "value": "red"}}`, `selector.json.type: unknown type "color"`},
		{"bad regex", `{"json": {"operator": "or", "conditions": [{"type": "name", "operator": "regex", "value": "(unclosed"}]}}`, `selector.json.conditions[0].value: bad regex`},
		{"bad date", `{"json": {"type": "created-at", "operator": "before", "value": "2024-13-01"}}`, `selector.json.value: bad date "2024-13-01"`},
		{"date not a string", `{"json": {"type": "updated-at", "operator": "after", "value": 1700000000}}`, `selector.json.value: must be an RFC3339 string, got number`},
		{"metadata without key", `{"json": {"type": "metadata", "operator": "equals", "value": "x"}}`, `selector.json.key: missing`},
		{"metadata empty key", `{"json": {"type": "metadata", "key": "", "operator": "equals", "value": "x"}}`, `selector.json.key: must not be empty`},
		{"metadata key not a string", `{"json": {"type": "metadata", "key": 1, "operator": "equals", "value": "x"}}`, `selector.json.key: must be a string, got number`},
		{"value is a number", `{"json": {"type": "version", "operator": "equals", "value": 1.2}}`, `selector.json.value: must be a string, got number`},
		{"value is a bool", `{"json": {"type": "name", "operator": "equals", "value": true}}`, `selector.json.value: must be a string, got boolean`},
		{"missing value", `{"json": {"type": "name", "operator": "equals"}}`, `selector.json.value: missing`},
		{"missing operator", `{"json": {"type": "name", "value": "a"}}`, `selector.json.operator: missing`},
		{"type not a string", `{"json": {"type": 3, "operator": "equals", "value": "a"}}`, `selector.json.type: must be a string, got number`},
		{"condition without type", `{"json": {"operator": "equals", "value": "a"}}`, `selector.json.type: missing`},
		{"empty tree", `{"json": {}}`, `selector.json.type: missing`},
		{"group without conditions", `{"json": {"operator": "and"}}`, `selector.json.conditions: missing`},
		{"conditions not an array", `{"json": {"operator": "and", "conditions": {}}}`, `selector.json.conditions: must be an array, got object`},
		{"condition not an object", `{"json": {"operator": "and", "conditions": ["name"]}}`, `selector.json.conditions[0]: must be an object, got string`},
		{"unknown field on condition", `{"json": {"type": "name", "operator": "equals", "value": "a", "not": true}}`, `selector.json: unknown field "not"`},
		{"unknown field on group", `{"json": {"operator": "and", "conditions": [], "negate": true}}`, `selector.json: unknown field "negate"`},
		{"deep path", `{"json": {"operator": "or", "conditions": [
			{"operator": "and", "conditions": [{"type": "kind", "operator": "equals", "value": "a"}, {"type": "kind", "operator": "is", "value": "a"}]}]}}`,
			`selector.json.conditions[0].conditions[1].operator: unknown operator "is"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := env.Compile(parse(t, tt.sel))
			if err == nil {
				t.Fatalf("Compile() = %v, want error %q", m, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Compile() error = %q, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMatcher_MatchErr_JSONSubject(t *testing.T) {
	sel := `{"json": {"type": "name", "operator": "equals", "value": "a"}}`
	tests := []struct {
		name    string
		env     *selector.Env
		vars    map[string]any
		want    bool
		wantErr bool
	}{
		{"resource env reads resource", selector.ResourceEnv(),
			map[string]any{"resource": map[string]any{"name": "a"}, "deployment": map[string]any{"name": "b"}}, true, false},
		{"resource env ignores other variables", selector.ResourceEnv(),
			map[string]any{"resource": map[string]any{"name": "b"}, "deployment": map[string]any{"name": "a"}}, false, false},
		{"version env reads version", selector.VersionEnv(),
			map[string]any{"version": map[string]any{"name": "a"}, "resource": map[string]any{"name": "b"}}, true, false},
		{"explicit subject", mustEnvConfig(t, selector.Config{Vars: []string{"from", "to"}, Subject: "to"}),
			map[string]any{"from": map[string]any{"name": "b"}, "to": map[string]any{"name": "a"}}, true, false},
		{"absent subject", selector.ResourceEnv(), map[string]any{}, false, false},
		{"nil subject", selector.ResourceEnv(), map[string]any{"resource": nil}, false, false},
		{"subject of wrong type", selector.ResourceEnv(), map[string]any{"resource": struct{ Name string }{"a"}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.env.Compile(parse(t, sel))
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.MatchErr(tt.vars)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("MatchErr() = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestEnv_Compile_JSONProgrammatic(t *testing.T) {
	// Trees built in Go rather than decoded may use typed slices and
	// time.Time values.
	s := &model.Selector{JSON: map[string]any{
		"operator": "and",
		"conditions": []map[string]any{
			{"type": "created-at", "operator": "after", "value": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
			{"type": "name", "operator": "ends-with", "value": "-1"},
		},
	}}
	m, err := selector.ResourceEnv().Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Match(map[string]any{"resource": prodResource()}) {
		t.Error("Match() = false, want true")
	}
}

func mustEnvConfig(t *testing.T, cfg selector.Config) *selector.Env {
	t.Helper()
	env, err := selector.NewEnvConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return env
}
