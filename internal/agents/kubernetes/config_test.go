package kubernetes

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestType_Validate(t *testing.T) {
	ca := newAPIServer(t).caData()
	full := func(change func(map[string]any)) map[string]any {
		c := map[string]any{"server": "https://10.0.0.1:6443", "token": "t", "caData": ca, "namespace": "deploys", "manifest": jobYAML}
		if change != nil {
			change(c)
		}
		return c
	}
	tests := []struct {
		name   string
		config map[string]any
		scope  agents.Scope
		want   string // the start of the error; "" accepts
	}{
		{"complete", full(nil), agents.ScopeJob, ""},
		{"agent holds only the connection", map[string]any{"server": "https://k8s.example.com", "token": "t"}, agents.ScopeAgent, ""},
		{"agent without server", map[string]any{"token": "t"}, agents.ScopeAgent, "server: is required"},
		{"agent without token", map[string]any{"server": "https://k8s.example.com"}, agents.ScopeAgent, "token: is required"},
		{"job without namespace", full(func(c map[string]any) { delete(c, "namespace") }), agents.ScopeJob, "namespace: is required"},
		{"job without manifest", full(func(c map[string]any) { delete(c, "manifest") }), agents.ScopeJob, "manifest: is required"},
		{"server not a URL", full(func(c map[string]any) { c["server"] = "10.0.0.1:6443" }), agents.ScopeAgent, "server: must be the API server's URL"},
		{"server templated", full(func(c map[string]any) { c["server"] = "{{.Resource.Config.server}}" }), agents.ScopeJob, ""},
		{"token not a string", full(func(c map[string]any) { c["token"] = []any{"t"} }), agents.ScopeAgent, "token: must be a string"},
		{"namespace not a DNS label", full(func(c map[string]any) { c["namespace"] = "Deploys_1" }), agents.ScopeJob, "namespace: a lowercase RFC 1123 label"},
		{"namespace templated", full(func(c map[string]any) { c["namespace"] = "{{.Environment.Name}}" }), agents.ScopeJob, ""},
		{"caData not PEM", full(func(c map[string]any) { c["caData"] = "bm90IHBlbQ==" }), agents.ScopeAgent, "caData: holds no PEM block"},
		{"insecure not a bool", full(func(c map[string]any) { c["insecureSkipTLSVerify"] = "maybe" }), agents.ScopeAgent, "insecureSkipTLSVerify: must be true or false"},
		{"insecure with caData", full(func(c map[string]any) { c["insecureSkipTLSVerify"] = true }), agents.ScopeAgent, "insecureSkipTLSVerify: cannot be combined with caData"},
		{"manifest of another kind", full(func(c map[string]any) { c["manifest"] = strings.Replace(jobYAML, "kind: Job", "kind: Pod", 1) }), agents.ScopeJob, "manifest.kind: must be Job"},
		{"manifest of another version", full(func(c map[string]any) { c["manifest"] = strings.Replace(jobYAML, "batch/v1", "batch/v1beta1", 1) }), agents.ScopeJob, "manifest.apiVersion: must be batch/v1"},
		{"manifest not YAML", full(func(c map[string]any) { c["manifest"] = "spec: [" }), agents.ScopeJob, "manifest: error converting YAML to JSON"},
		{"manifest templated", full(func(c map[string]any) { c["manifest"] = "metadata: {name: {{.Resource.Name}}}" }), agents.ScopeJob, ""},
		{"manifest object templated", full(func(c map[string]any) {
			c["manifest"] = map[string]any{"kind": "Job", "spec": map[string]any{"parallelism": "{{.Variables.n}}"}}
		}), agents.ScopeJob, ""},
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
	if !typ.IsSensitive("token") || typ.IsSensitive("server") {
		t.Errorf("sensitive keys = %v, want token alone", typ.Sensitive)
	}
}
