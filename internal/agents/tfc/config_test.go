package tfc

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestType_Validate(t *testing.T) {
	full := func(change func(map[string]any)) map[string]any {
		c := map[string]any{"organization": "acme", "token": "t", "workspace": "api-prod"}
		if change != nil {
			change(c)
		}
		return c
	}
	vars := func(v any) map[string]any { return full(func(c map[string]any) { c["variables"] = v }) }
	tests := []struct {
		name   string
		config map[string]any
		scope  agents.Scope
		want   string // the start of the error; "" accepts
	}{
		{"complete", full(nil), agents.ScopeJob, ""},
		{"agent holds the token", map[string]any{"token": "t"}, agents.ScopeAgent, ""},
		{"agent without token", map[string]any{"organization": "acme"}, agents.ScopeAgent, "token: is required"},
		{"agent holds the token sealed, as it is stored", map[string]any{"token": map[string]any{"sensitive": map[string]any{
			"ciphertext": "c", "valueHash": "h", "binding": "b"}}}, agents.ScopeAgent, ""},
		{"job without organization", full(func(c map[string]any) { delete(c, "organization") }), agents.ScopeJob, "organization: is required"},
		{"job without workspace", full(func(c map[string]any) { delete(c, "workspace") }), agents.ScopeJob, "workspace: is required"},
		{"job without token", full(func(c map[string]any) { delete(c, "token") }), agents.ScopeJob, "token: is required"},
		{"address not a URL", full(func(c map[string]any) { c["address"] = "app.terraform.io" }), agents.ScopeAgent, "address: must be a URL"},
		{"address of an enterprise install", full(func(c map[string]any) { c["address"] = "https://tfe.example.com" }), agents.ScopeJob, ""},
		{"workspace with a space", full(func(c map[string]any) { c["workspace"] = "api prod" }), agents.ScopeJob, "workspace: must be 1 to 90 letters"},
		{"workspace templated", full(func(c map[string]any) { c["workspace"] = "api-{{.Environment.Name}}" }), agents.ScopeJob, ""},
		{"workspace not a string", full(func(c map[string]any) { c["workspace"] = map[string]any{} }), agents.ScopeJob, "workspace: must be a string"},
		{"variables not an object", vars([]any{"a"}), agents.ScopeJob, "variables: must be an object"},
		{"variable of every form", vars(map[string]any{"a": "1", "b": 2.0, "c": true, "d": []any{1.0}, "e": map[string]any{"value": "x", "category": "env", "sensitive": true},
			"f": map[string]any{"value": map[string]any{"k": "v"}, "hcl": true}}), agents.ScopeJob, ""},
		{"variable field unknown", vars(map[string]any{"a": map[string]any{"valeu": "1"}}), agents.ScopeJob, "variables.a.valeu: is not a variable field"},
		{"variable category unknown", vars(map[string]any{"a": map[string]any{"value": "1", "category": "secret"}}), agents.ScopeJob, "variables.a.category: must be terraform or env"},
		{"variable sensitive not a bool", vars(map[string]any{"a": map[string]any{"value": "1", "sensitive": "yes"}}), agents.ScopeJob, "variables.a.sensitive: must be true or false"},
		{"variable list not HCL", vars(map[string]any{"a": map[string]any{"value": []any{"x"}, "hcl": false}}), agents.ScopeJob, "variables.a.hcl: a list or object value is HCL"},
		{"environment variable as HCL", vars(map[string]any{"a": map[string]any{"value": "x", "category": "env", "hcl": true}}), agents.ScopeJob, "variables.a.hcl: environment variables cannot be HCL"},
	}
	typ := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := typ.Validate(tt.config, tt.scope)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v, want it accepted", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("Validate: %v, want %q", err, tt.want)
			case err != nil && model.ErrorCode(err) != model.EINVALID:
				t.Errorf("Validate: %v is %s, want EINVALID", err, model.ErrorCode(err))
			}
		})
	}
}

func TestType_Sensitive(t *testing.T) {
	typ := New(Options{})
	if !typ.IsSensitive("token") || typ.IsSensitive("workspace") {
		t.Errorf("sensitive keys = %v, want token alone", typ.Sensitive)
	}
}
