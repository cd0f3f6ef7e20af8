package templating

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		text string
		want string // "" for accepted
	}{
		{"{{.Resource.Metadata.region}}", ""},
		{"{{.Variables.db.host}}", ""},
		{"{{.Matrix.node.identifier}}-{{.Matrix.region}}", ""},
		{"{{.Inputs.targets}}", ""},
		{"{{.Resource.Nmae}}", "can't evaluate field Nmae"},
		{"{{.Matrx.a}}", "can't evaluate field Matrx"},
		{"{{.Resource.Name", "does not parse"},
	}
	for _, tt := range tests {
		for name, err := range map[string]error{
			"Validate":       Validate("cfg", map[string]any{"a": map[string]any{"b": tt.text}}),
			"ValidateString": ValidateString("cfg.a.b", tt.text),
		} {
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%s(%q): %v", name, tt.text, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || model.ErrorField(err) != "cfg.a.b"):
				t.Errorf("%s(%q) = %v, want an error naming cfg.a.b with %q", name, tt.text, err, tt.want)
			}
		}
	}
}

func TestRender_Matrix(t *testing.T) {
	dc := &model.DispatchContext{WorkflowJob: &model.WorkflowJob{Matrix: map[string]any{"region": "eu",
		"node": map[string]any{"identifier": "n-1"}}}}
	out, err := Render(map[string]any{"target": "{{.Matrix.node.identifier}}@{{.Matrix.region}}"}, FromContext("j", dc, nil))
	if err != nil || out["target"] != "n-1@eu" {
		t.Fatalf("Render = %v, %v", out, err)
	}
}
