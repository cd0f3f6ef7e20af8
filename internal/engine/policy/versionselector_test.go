package policy

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func TestEvalVersionSelector(t *testing.T) {
	jsonSel := func(tree map[string]any) *model.Selector { return &model.Selector{JSON: tree} }
	tests := []struct {
		name        string
		sel         *model.Selector
		description string
		want        fxWant
	}{
		{
			name: "cel on the tag matches",
			sel:  model.CELSelector(`version.tag.startsWith("v2.")`),
			want: fxWant{outcome: fxAllowed, msg: []string{"version v2.1.0 matches the version selector"}},
		},
		{
			name: "cel on the tag does not match",
			sel:  model.CELSelector(`version.tag.startsWith("v3.")`),
			want: fxWant{outcome: fxDenied, msg: []string{"version v2.1.0 does not match the version selector"}},
		},
		{
			name:        "the description explains a mismatch",
			sel:         model.CELSelector(`version.metadata.channel == "stable"`),
			description: "stable builds only",
			want:        fxWant{outcome: fxDenied, msg: []string{"does not match the version selector (stable builds only)"}},
		},
		{
			name: "cel sees environment, resource and deployment",
			sel: model.CELSelector(`version.metadata.channel == "beta" && environment.name == "prod" &&
				resource.metadata.region == "eu-west-1" && deployment.slug == "api"`),
			want: fxWant{outcome: fxAllowed},
		},
		{
			name: "cel on a missing key does not match",
			sel:  model.CELSelector(`version.metadata.team == "core"`),
			want: fxWant{outcome: fxDenied},
		},
		{
			name: "json tag condition matches",
			sel:  jsonSel(map[string]any{"type": "tag", "operator": "starts-with", "value": "v2."}),
			want: fxWant{outcome: fxAllowed},
		},
		{
			name: "json metadata condition does not match",
			sel:  jsonSel(map[string]any{"type": "metadata", "key": "channel", "operator": "equals", "value": "stable"}),
			want: fxWant{outcome: fxDenied, msg: []string{"does not match"}},
		},
		{
			name: "json looks at the version, not the resource",
			sel:  jsonSel(map[string]any{"type": "metadata", "key": "region", "operator": "equals", "value": "eu-west-1"}),
			want: fxWant{outcome: fxDenied},
		},
		{
			name: "json group over tag and created-at",
			sel: jsonSel(map[string]any{"operator": "and", "conditions": []any{
				map[string]any{"type": "tag", "operator": "regex", "value": `^v2\.\d+\.\d+$`},
				map[string]any{"type": "created-at", "operator": "after-or-on", "value": fxBase.Format("2006-01-02T15:04:05Z07:00")},
			}}),
			want: fxWant{outcome: fxAllowed},
		},
		{
			name: "missing selector matches nothing",
			sel:  nil,
			want: fxWant{outcome: fxDenied, msg: []string{"does not match"}},
		},
		{
			name: "cel that does not compile is denied with the error",
			sel:  model.CELSelector(`version.tag ==`),
			want: fxWant{outcome: fxDenied, msg: []string{"the version selector is invalid", "Syntax error"}},
		},
		{
			name: "cel on a field the version does not have is denied as invalid",
			sel:  model.CELSelector(`version.tga.startsWith("v2.")`),
			want: fxWant{outcome: fxDenied, msg: []string{"the version selector is invalid", "undefined field 'tga'"}},
		},
		{
			name: "json that does not compile is denied with the error",
			sel:  jsonSel(map[string]any{"type": "tag", "operator": "sounds-like", "value": "v2"}),
			want: fxWant{outcome: fxDenied, msg: []string{"the version selector is invalid"}},
		},
		{
			name: "cel that fails at run time is denied with the error",
			sel:  model.CELSelector(`dyn(version.tag) > 3`),
			want: fxWant{outcome: fxDenied, msg: []string{"could not be evaluated for version v2.1.0"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFxWorld(t)
			target := w.target("cluster-1", "prod", "api")
			v := fxVersion("ver-2", "api", "v2.1.0", fxBase)
			v.Metadata["channel"] = "beta"
			fxPut(w, store.DeploymentVersions, v)
			in := fxInput(fxBase, w.reader(), target, v)
			in.Resource.Metadata["region"] = "eu-west-1"
			rule := &model.PolicyRule{ID: "rule-selector",
				VersionSelector: &model.VersionSelectorRule{Selector: tt.sel, Description: tt.description}}

			got := evalVersionSelector(in, rule)

			fxCheck(t, got, rule, KindVersionSelector, tt.want)
		})
	}
}
