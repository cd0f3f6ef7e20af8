package argowf

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestType_Validate(t *testing.T) {
	full := func(change func(map[string]any)) map[string]any {
		c := map[string]any{"serverUrl": "https://argo.example.com:2746", "token": "t", "namespace": "argo", "template": workflowYAML}
		if change != nil {
			change(c)
		}
		return c
	}
	plain := strings.Replace(workflowYAML, `"{{workflow.parameters.version}}"`, "v1.4.0", 1)
	tests := []struct {
		name   string
		config map[string]any
		scope  agents.Scope
		want   string // the start of the error; "" accepts
	}{
		{"complete", full(nil), agents.ScopeJob, ""},
		{"complete without templates", full(func(c map[string]any) { c["template"] = plain }), agents.ScopeJob, ""},
		{"agent holds the connection", map[string]any{"serverUrl": "https://argo.example.com", "token": "t"}, agents.ScopeAgent, ""},
		{"agent without serverUrl", map[string]any{"token": "t"}, agents.ScopeAgent, "serverUrl: is required"},
		{"agent without token", map[string]any{"serverUrl": "https://argo.example.com"}, agents.ScopeAgent, "token: is required"},
		{"job without namespace", full(func(c map[string]any) { delete(c, "namespace") }), agents.ScopeJob, "namespace: is required"},
		{"job without template", full(func(c map[string]any) { delete(c, "template") }), agents.ScopeJob, "template: is required"},
		{"serverUrl without scheme", full(func(c map[string]any) { c["serverUrl"] = "argo.example.com:2746" }), agents.ScopeAgent, "serverUrl: must be the Argo Server's URL"},
		{"token not a string", full(func(c map[string]any) { c["token"] = true }), agents.ScopeAgent, "token: must be a string"},
		{"caData not PEM", full(func(c map[string]any) { c["caData"] = "bm90IHBlbQ==" }), agents.ScopeAgent, "caData: holds no PEM block"},
		{"insecure not a bool", full(func(c map[string]any) { c["insecureSkipTLSVerify"] = 1.0 }), agents.ScopeAgent, "insecureSkipTLSVerify: must be true or false"},
		{"template of another kind", full(func(c map[string]any) {
			c["template"] = strings.Replace(plain, "kind: Workflow", "kind: CronWorkflow", 1)
		}), agents.ScopeJob, "template.kind: must be Workflow"},
		{"template of another version", full(func(c map[string]any) { c["template"] = strings.Replace(plain, "argoproj.io/v1alpha1", "v1", 1) }), agents.ScopeJob, "template.apiVersion: must be argoproj.io/v1alpha1"},
		{"template without spec", full(func(c map[string]any) { c["template"] = map[string]any{"kind": "Workflow"} }), agents.ScopeJob, "template.spec: is required"},
		{"template metadata not an object", full(func(c map[string]any) { c["template"] = map[string]any{"metadata": "x", "spec": map[string]any{}} }), agents.ScopeJob, "template.metadata: must be an object"},
		{"template not YAML", full(func(c map[string]any) { c["template"] = "spec: [" }), agents.ScopeJob, "template: error converting YAML to JSON"},
		{"template a number", full(func(c map[string]any) { c["template"] = 4.0 }), agents.ScopeJob, "template: must be a manifest"},
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
	if !typ.IsSensitive("token") || typ.IsSensitive("serverUrl") {
		t.Errorf("sensitive keys = %v, want token alone", typ.Sensitive)
	}
}
