package variables

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Fixture constructors keep each test case to the candidates it is about.

func lit(v any) model.Value { return model.Value{Literal: &model.LiteralValue{V: v}} }

func ref(name string, path ...string) model.Value {
	return model.Value{Reference: &model.ReferenceValue{Reference: name, Path: path}}
}

func secret(cipher string) model.Value {
	return model.Value{Sensitive: &model.SensitiveValue{Ciphertext: cipher}}
}

func celSel(expr string) *model.Selector { return model.CELSelector(expr) }

func val(id string, priority int64, sel *model.Selector, v model.Value) *model.DeploymentVariableValue {
	return &model.DeploymentVariableValue{ID: id, DeploymentVariableID: "var-k", Priority: priority, ResourceSelector: sel, Value: v}
}

func resVar(v model.Value) map[string]*model.ResourceVariable {
	return map[string]*model.ResourceVariable{"k": {ResourceID: "r1", Key: "k", Value: v}}
}

func decl(def *model.LiteralValue) []*model.DeploymentVariable {
	return []*model.DeploymentVariable{{ID: "var-k", Key: "k", DeploymentID: "d1", DefaultValue: def}}
}

func resource() map[string]any {
	return map[string]any{"id": "r1", "kind": "Cluster", "name": "c1", "metadata": map[string]any{"env": "prod"}}
}

// related answers the "vpc" reference with a network resource; every other
// reference name has no related entity.
func related(reference string) (map[string]any, bool) {
	if reference != "vpc" {
		return nil, false
	}
	return map[string]any{
		"id": "n1", "identifier": "net-1",
		"metadata": map[string]any{"region": "eu"},
		"config": map[string]any{
			"a":     map[string]any{"b": "deep"},
			"cidr":  "10.0.0.0/16",
			"ports": []any{int64(80), 443.5},
			"size":  int64(3),
		},
	}, true
}

func decrypt(s *model.SensitiveValue) (string, error) {
	if s.Ciphertext == "broken" {
		return "", errors.New("bad key")
	}
	return "clear:" + s.Ciphertext, nil
}

func TestResolve(t *testing.T) {
	def := &model.LiteralValue{V: "default"}
	tests := []struct {
		name          string
		def           *model.LiteralValue
		resourceVars  map[string]*model.ResourceVariable
		values        []*model.DeploymentVariableValue
		want          any // nil means the key is omitted
		wantSensitive []string
	}{
		{
			name:         "resource variable wins",
			def:          def,
			resourceVars: resVar(lit("from-resource")),
			values:       []*model.DeploymentVariableValue{val("v1", 100, nil, lit("from-value"))},
			want:         "from-resource",
		},
		{
			name:         "unresolvable resource reference falls through to values",
			def:          def,
			resourceVars: resVar(ref("missing", "identifier")),
			values:       []*model.DeploymentVariableValue{val("v1", 1, nil, lit("from-value"))},
			want:         "from-value",
		},
		{
			name:         "resource reference resolves",
			resourceVars: resVar(ref("vpc", "identifier")),
			want:         "net-1",
		},
		{
			name: "highest priority first",
			values: []*model.DeploymentVariableValue{
				val("v1", 1, nil, lit("low")), val("v2", 10, nil, lit("high")), val("v3", 5, nil, lit("mid")),
			},
			want: "high",
		},
		{
			name:   "priority tie broken by id ascending",
			values: []*model.DeploymentVariableValue{val("b", 5, nil, lit("b")), val("a", 5, nil, lit("a"))},
			want:   "a",
		},
		{
			name: "selector not matching is skipped",
			values: []*model.DeploymentVariableValue{
				val("v1", 10, celSel(`resource.kind == "Database"`), lit("db")),
				val("v2", 1, celSel(`resource.metadata.env == "prod"`), lit("prod")),
			},
			want: "prod",
		},
		{
			name: "json selector and cel over deployment and environment",
			values: []*model.DeploymentVariableValue{
				val("v1", 10, celSel(`deployment.name == "api" && environment.name == "staging"`), lit("staging")),
				val("v2", 5, &model.Selector{JSON: map[string]any{"type": "kind", "operator": "equals", "value": "Cluster"}}, lit("json")),
			},
			want: "json",
		},
		{
			name:   "cel sees deployment and environment",
			values: []*model.DeploymentVariableValue{val("v1", 0, celSel(`deployment.name == "api" && environment.name == "prod"`), lit("api-prod"))},
			want:   "api-prod",
		},
		{
			name:   "nil selector applies to every resource",
			values: []*model.DeploymentVariableValue{val("v1", 0, nil, lit("everywhere"))},
			want:   "everywhere",
		},
		{
			name:   "reference nested config path",
			values: []*model.DeploymentVariableValue{val("v1", 0, nil, ref("vpc", "config", "a", "b"))},
			want:   "deep",
		},
		{
			name:   "reference metadata key",
			values: []*model.DeploymentVariableValue{val("v1", 0, nil, ref("vpc", "metadata", "region"))},
			want:   "eu",
		},
		{
			name:   "reference top-level field",
			values: []*model.DeploymentVariableValue{val("v1", 0, nil, ref("vpc", "identifier"))},
			want:   "net-1",
		},
		{
			name:   "referenced number becomes json.Number",
			values: []*model.DeploymentVariableValue{val("v1", 0, nil, ref("vpc", "config", "size"))},
			want:   json.Number("3"),
		},
		{
			name:   "referenced array is normalised",
			values: []*model.DeploymentVariableValue{val("v1", 0, nil, ref("vpc", "config", "ports"))},
			want:   []any{json.Number("80"), json.Number("443.5")},
		},
		{
			name: "reference with no related entity falls through",
			def:  def,
			values: []*model.DeploymentVariableValue{
				val("v1", 10, nil, ref("nothing", "identifier")), val("v2", 1, nil, lit("next")),
			},
			want: "next",
		},
		{
			name: "reference with missing path falls through",
			def:  def,
			values: []*model.DeploymentVariableValue{
				val("v1", 10, nil, ref("vpc", "config", "nope")), val("v2", 1, nil, lit("next")),
			},
			want: "next",
		},
		{
			name:   "unresolvable values fall through to the default",
			def:    def,
			values: []*model.DeploymentVariableValue{val("v1", 10, nil, ref("vpc", "metadata", "nope"))},
			want:   "default",
		},
		{
			name:   "default used when no value matches",
			def:    def,
			values: []*model.DeploymentVariableValue{val("v1", 10, celSel("false"), lit("never"))},
			want:   "default",
		},
		{
			name:   "no default omits the key",
			values: []*model.DeploymentVariableValue{val("v1", 10, celSel("false"), lit("never"))},
			want:   nil,
		},
		{
			name:          "sensitive value decrypted and listed",
			values:        []*model.DeploymentVariableValue{val("v1", 0, nil, secret("s3cr3t"))},
			want:          "clear:s3cr3t",
			wantSensitive: []string{"k"},
		},
		{
			name:          "sensitive resource variable",
			resourceVars:  resVar(secret("rv")),
			want:          "clear:rv",
			wantSensitive: []string{"k"},
		},
		{
			name: "shadowed sensitive value is neither decrypted nor listed",
			values: []*model.DeploymentVariableValue{
				val("v1", 10, nil, lit("plain")), val("v2", 1, nil, secret("broken")),
			},
			want: "plain",
		},
		{
			name:   "literal object preserved",
			values: []*model.DeploymentVariableValue{val("v1", 0, nil, lit(map[string]any{"object": map[string]any{"a": json.Number("1")}}))},
			want:   map[string]any{"object": map[string]any{"a": json.Number("1")}},
		},
		{
			name:   "literal null is a value",
			def:    def,
			values: []*model.DeploymentVariableValue{val("v1", 0, nil, model.Value{Literal: &model.LiteralValue{}})},
			want:   "<null>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{
				Variables:    decl(tt.def),
				Values:       map[string][]*model.DeploymentVariableValue{"var-k": tt.values},
				ResourceVars: tt.resourceVars,
				Resource:     resource(),
				Deployment:   map[string]any{"id": "d1", "name": "api"},
				Environment:  map[string]any{"id": "e1", "name": "prod"},
				Resolve:      related,
				Decrypt:      decrypt,
			}
			got, err := Resolve(in)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			v, ok := got.Values["k"]
			switch {
			case tt.want == nil:
				if ok {
					t.Errorf("k = %#v, want omitted", v.V)
				}
			case tt.want == "<null>":
				if !ok || v.V != nil {
					t.Errorf("k = %#v (present %v), want null", v.V, ok)
				}
			case !ok || !reflect.DeepEqual(v.V, tt.want):
				t.Errorf("k = %#v (present %v), want %#v", v.V, ok, tt.want)
			}
			if !reflect.DeepEqual(got.Sensitive, tt.wantSensitive) {
				t.Errorf("Sensitive = %v, want %v", got.Sensitive, tt.wantSensitive)
			}
		})
	}
}

func TestResolve_errors(t *testing.T) {
	tests := []struct {
		name    string
		values  []*model.DeploymentVariableValue
		decrypt func(*model.SensitiveValue) (string, error)
	}{
		{"decrypt error returned", []*model.DeploymentVariableValue{val("v1", 0, nil, secret("broken"))}, decrypt},
		{"no decrypt function", []*model.DeploymentVariableValue{val("v1", 0, nil, secret("x"))}, nil},
		{"selector that does not compile", []*model.DeploymentVariableValue{val("v1", 0, celSel("resource.kind =="), lit("x"))}, decrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(Input{
				Variables: decl(nil),
				Values:    map[string][]*model.DeploymentVariableValue{"var-k": tt.values},
				Resource:  resource(),
				Decrypt:   tt.decrypt,
			})
			if err == nil {
				t.Fatal("Resolve succeeded")
			}
			if !strings.HasPrefix(err.Error(), "variable k: ") {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}

func TestResolve_manyKeys(t *testing.T) {
	in := Input{
		Variables: []*model.DeploymentVariable{
			{ID: "z", Key: "zeta"},
			{ID: "a", Key: "alpha"},
			{ID: "m", Key: "mid", DefaultValue: &model.LiteralValue{V: "d"}},
			{ID: "dup", Key: "alpha", DefaultValue: &model.LiteralValue{V: "shadowed"}},
			nil,
		},
		Values: map[string][]*model.DeploymentVariableValue{
			"z": {val("z1", 0, nil, secret("z"))},
			"a": {val("a1", 0, nil, secret("a"))},
		},
		Resource: resource(),
		Decrypt:  decrypt,
	}
	got, err := Resolve(in)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := map[string]model.LiteralValue{"zeta": {V: "clear:z"}, "alpha": {V: "clear:a"}, "mid": {V: "d"}}
	if !reflect.DeepEqual(got.Values, want) {
		t.Errorf("Values = %v, want %v", got.Values, want)
	}
	if want := []string{"alpha", "zeta"}; !reflect.DeepEqual(got.Sensitive, want) {
		t.Errorf("Sensitive = %v, want %v", got.Sensitive, want)
	}
}

func TestResolve_doesNotReorderOrAlias(t *testing.T) {
	values := []*model.DeploymentVariableValue{val("v1", 1, nil, ref("vpc", "config", "a")), val("v2", 9, nil, lit("x"))}
	entity, _ := related("vpc")
	in := Input{
		Variables: decl(nil),
		Values:    map[string][]*model.DeploymentVariableValue{"var-k": values},
		Resource:  resource(),
		Resolve:   func(string) (map[string]any, bool) { return entity, true },
	}
	if _, err := Resolve(in); err != nil {
		t.Fatal(err)
	}
	if values[0].ID != "v1" {
		t.Error("Resolve reordered the caller's values")
	}

	values[1].ResourceSelector = celSel("false")
	got, err := Resolve(in)
	if err != nil {
		t.Fatal(err)
	}
	got.Values["k"].V.(map[string]any)["b"] = "changed"
	if entity["config"].(map[string]any)["a"].(map[string]any)["b"] != "deep" {
		t.Error("resolved reference aliases the related entity")
	}
}

func TestResolve_empty(t *testing.T) {
	got, err := Resolve(Input{})
	if err != nil || got.Values == nil || len(got.Values) != 0 || got.Sensitive != nil {
		t.Errorf("Resolve(empty) = %+v, %v", got, err)
	}
}
