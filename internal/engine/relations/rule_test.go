package relations

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func cel(expr string) *model.Selector { return model.CELSelector(expr) }

func jsonSel(t *testing.T, text string) *model.Selector {
	t.Helper()
	var s model.Selector
	if err := json.Unmarshal([]byte(`{"json":`+text+`}`), &s); err != nil {
		t.Fatalf("json selector %s: %v", text, err)
	}
	return &s
}

// propRule builds a resource→resource rule with one property matcher.
func propRule(from []string, op string, to []string) *model.RelationshipRule {
	return &model.RelationshipRule{
		ID: "r1", Reference: "ref", FromType: model.EntityResource, ToType: model.EntityResource,
		Matcher: model.RelationshipMatcher{Properties: []model.PropertyMatcher{
			{FromProperty: from, ToProperty: to, Operator: op},
		}},
	}
}

func mustCompile(t *testing.T, r *model.RelationshipRule) *Rule {
	t.Helper()
	c, err := Compile(r)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func cluster() map[string]any {
	return map[string]any{
		"id": "c1", "kind": "Cluster", "name": "prod-eu-1", "identifier": "cluster/prod-eu-1",
		"metadata": map[string]any{"vpc": "net-1", "region": "eu-west-1", "pattern": "^prod-"},
		"config":   map[string]any{"network": map[string]any{"id": "net-1"}, "replicas": int64(3), "public": true, "ratio": 2.5},
	}
}

func network() map[string]any {
	return map[string]any{
		"id": "n1", "kind": "Network", "name": "prod", "identifier": "net-1",
		"metadata": map[string]any{"region": "eu", "replicas": "3", "public": "true", "ratio": "2.5", "pattern": "^prod-", "bad": "(["},
		"config":   map[string]any{"cidr": "10.0.0.0/16"},
	}
}

func TestRule_Related_properties(t *testing.T) {
	tests := []struct {
		name     string
		from, to []string
		op       string
		want     bool
	}{
		{"equals nested metadata to top level", []string{"metadata", "vpc"}, []string{"identifier"}, "equals", true},
		{"equals deep config path", []string{"config", "network", "id"}, []string{"identifier"}, "equals", true},
		{"equals no match", []string{"metadata", "region"}, []string{"identifier"}, "equals", false},
		{"equals integer formatted plainly", []string{"config", "replicas"}, []string{"metadata", "replicas"}, "equals", true},
		{"equals float formatted plainly", []string{"config", "ratio"}, []string{"metadata", "ratio"}, "equals", true},
		{"equals bool formatted plainly", []string{"config", "public"}, []string{"metadata", "public"}, "equals", true},
		{"notEquals match", []string{"metadata", "region"}, []string{"identifier"}, "notEquals", true},
		{"notEquals no match", []string{"metadata", "vpc"}, []string{"identifier"}, "notEquals", false},
		{"contains match", []string{"metadata", "region"}, []string{"metadata", "region"}, "contains", true},
		{"contains no match", []string{"metadata", "vpc"}, []string{"metadata", "region"}, "contains", false},
		{"startsWith match", []string{"metadata", "region"}, []string{"metadata", "region"}, "startsWith", true},
		{"startsWith no match", []string{"identifier"}, []string{"name"}, "startsWith", false},
		{"endsWith match", []string{"metadata", "vpc"}, []string{"identifier"}, "endsWith", true},
		{"endsWith no match", []string{"metadata", "region"}, []string{"metadata", "region"}, "endsWith", false},
		{"regex match", []string{"name"}, []string{"metadata", "pattern"}, "regex", true},
		{"regex no match", []string{"identifier"}, []string{"metadata", "pattern"}, "regex", false},
		{"regex bad pattern never matches", []string{"name"}, []string{"metadata", "bad"}, "regex", false},
		{"missing from path", []string{"metadata", "nope"}, []string{"identifier"}, "equals", false},
		{"missing to path", []string{"metadata", "vpc"}, []string{"config", "x", "y"}, "equals", false},
		{"missing path never matches notEquals", []string{"metadata", "nope"}, []string{"identifier"}, "notEquals", false},
		{"path through a scalar is missing", []string{"name", "x"}, []string{"identifier"}, "notEquals", false},
		{"object value never matches", []string{"config", "network"}, []string{"identifier"}, "notEquals", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, propRule(tt.from, tt.op, tt.to))
			got := r.Related(model.EntityResource, "c1", cluster(), model.EntityResource, "n1", network())
			if got != tt.want {
				t.Errorf("Related = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRule_Related_allPropertiesMustHold(t *testing.T) {
	rule := propRule([]string{"metadata", "vpc"}, "equals", []string{"identifier"})
	rule.Matcher.Properties = append(rule.Matcher.Properties,
		model.PropertyMatcher{FromProperty: []string{"kind"}, ToProperty: []string{"kind"}, Operator: "equals"})
	r := mustCompile(t, rule)
	if r.Related(model.EntityResource, "c1", cluster(), model.EntityResource, "n1", network()) {
		t.Error("related although the second property differs")
	}
}

func TestRule_Related_celMatcher(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want bool
	}{
		{"from and to", `from.metadata.vpc == to.identifier`, true},
		{"nested config", `from.config.network.id == to.identifier && to.config.cidr.startsWith("10.")`, true},
		{"false", `from.kind == to.kind`, false},
		{"missing key is no match", `from.metadata.nope == to.identifier`, false},
		{"blank matches nothing", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr := tt.expr
			r := mustCompile(t, &model.RelationshipRule{
				FromType: model.EntityResource, ToType: model.EntityResource,
				Matcher: model.RelationshipMatcher{CEL: &expr},
			})
			got := r.Related(model.EntityResource, "c1", cluster(), model.EntityResource, "n1", network())
			if got != tt.want {
				t.Errorf("Related = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRule_Related_sideSelectors(t *testing.T) {
	tests := []struct {
		name     string
		from, to *model.Selector
		want     bool
	}{
		{"absent selectors mean every entity", nil, nil, true},
		{"cel both hold", cel(`resource.kind == "Cluster"`), cel(`resource.kind == "Network"`), true},
		{"cel from fails", cel(`resource.kind == "Network"`), nil, false},
		{"cel to fails", nil, cel(`resource.kind == "Cluster"`), false},
		{"json from holds", jsonSel(t, `{"type":"kind","operator":"equals","value":"Cluster"}`), nil, true},
		{"json to fails", nil, jsonSel(t, `{"type":"metadata","key":"region","operator":"equals","value":"us"}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := propRule([]string{"metadata", "vpc"}, "equals", []string{"identifier"})
			rule.FromSelector, rule.ToSelector = tt.from, tt.to
			r := mustCompile(t, rule)
			got := r.Related(model.EntityResource, "c1", cluster(), model.EntityResource, "n1", network())
			if got != tt.want {
				t.Errorf("Related = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRule_FromMatches_boundToType(t *testing.T) {
	env := map[string]any{"id": "e1", "name": "prod", "metadata": map[string]any{"tier": "1"}}
	dep := map[string]any{"id": "d1", "name": "api", "metadata": map[string]any{}}
	expr := `from.metadata.tier == "1"`
	r := mustCompile(t, &model.RelationshipRule{
		FromType: model.EntityEnvironment, ToType: model.EntityDeployment,
		FromSelector: cel(`environment.name == "prod"`),
		ToSelector:   jsonSel(t, `{"type":"name","operator":"equals","value":"api"}`),
		Matcher:      model.RelationshipMatcher{CEL: &expr},
	})
	if !r.FromMatches(env) {
		t.Error("FromMatches(prod environment) = false")
	}
	if !r.ToMatches(dep) {
		t.Error("ToMatches(api deployment) = false")
	}
	if r.ToMatches(map[string]any{"name": "web"}) {
		t.Error("ToMatches(web deployment) = true")
	}
	if !r.Related(model.EntityEnvironment, "e1", env, model.EntityDeployment, "d1", dep) {
		t.Error("Related(environment, deployment) = false")
	}
}

func TestRule_Related_identityAndTypes(t *testing.T) {
	always := "true"
	r := mustCompile(t, &model.RelationshipRule{
		FromType: model.EntityResource, ToType: model.EntityResource,
		Matcher: model.RelationshipMatcher{CEL: &always},
	})
	c := cluster()
	tests := []struct {
		name             string
		fromType, fromID string
		toType, toID     string
		want             bool
	}{
		{"distinct entities", model.EntityResource, "a", model.EntityResource, "b", true},
		{"self is never related", model.EntityResource, "a", model.EntityResource, "a", false},
		{"from type mismatch", model.EntityDeployment, "a", model.EntityResource, "b", false},
		{"to type mismatch", model.EntityResource, "a", model.EntityEnvironment, "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Related(tt.fromType, tt.fromID, c, tt.toType, tt.toID, c); got != tt.want {
				t.Errorf("Related = %v, want %v", got, tt.want)
			}
		})
	}

	// Same id but different types are different entities.
	mixed := mustCompile(t, &model.RelationshipRule{
		FromType: model.EntityResource, ToType: model.EntityEnvironment,
		Matcher: model.RelationshipMatcher{CEL: &always},
	})
	if !mixed.Related(model.EntityResource, "x", c, model.EntityEnvironment, "x", map[string]any{}) {
		t.Error("same id across types treated as self")
	}
}

func TestCompile_invalid(t *testing.T) {
	badCEL, notBool := "from.name ==", `"a string"`
	tests := []struct {
		name  string
		edit  func(r *model.RelationshipRule)
		field string
	}{
		{"unknown operator", func(r *model.RelationshipRule) { r.Matcher.Properties[0].Operator = "like" },
			"relationshipRule.matcher.properties[0].operator"},
		{"empty from path", func(r *model.RelationshipRule) { r.Matcher.Properties[0].FromProperty = nil },
			"relationshipRule.matcher.properties[0].fromProperty"},
		{"empty to path", func(r *model.RelationshipRule) { r.Matcher.Properties[0].ToProperty = nil },
			"relationshipRule.matcher.properties[0].toProperty"},
		{"bad cel", func(r *model.RelationshipRule) { r.Matcher = model.RelationshipMatcher{CEL: &badCEL} },
			"relationshipRule.matcher.cel"},
		{"non-bool cel", func(r *model.RelationshipRule) { r.Matcher = model.RelationshipMatcher{CEL: &notBool} },
			"relationshipRule.matcher.cel"},
		{"both matchers", func(r *model.RelationshipRule) { r.Matcher.CEL = &notBool },
			"relationshipRule.matcher"},
		{"bad from type", func(r *model.RelationshipRule) { r.FromType = "system" }, "relationshipRule.fromType"},
		{"bad to type", func(r *model.RelationshipRule) { r.ToType = "" }, "relationshipRule.toType"},
		{"bad from selector", func(r *model.RelationshipRule) { r.FromSelector = cel("resource.kind ==") },
			"relationshipRule.fromSelector"},
		// An environment side declares only "environment", so naming
		// another entity is a compile error.
		{"to selector over the wrong variable", func(r *model.RelationshipRule) {
			r.ToType, r.ToSelector = model.EntityEnvironment, cel(`deployment.name == "x"`)
		}, "relationshipRule.toSelector"},
		{"bad json regex", func(r *model.RelationshipRule) {
			r.ToSelector = jsonSel(t, `{"type":"name","operator":"regex","value":"(["}`)
		}, "relationshipRule.toSelector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := propRule([]string{"metadata", "vpc"}, "equals", []string{"identifier"})
			tt.edit(r)
			_, err := Compile(r)
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			if code := model.ErrorCode(err); code != model.EINVALID {
				t.Errorf("code = %q, want %q", code, model.EINVALID)
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
	if _, err := Compile(nil); model.ErrorCode(err) != model.EINVALID {
		t.Errorf("Compile(nil) error = %v", err)
	}
}

func TestRule_Model(t *testing.T) {
	m := propRule([]string{"a"}, "equals", []string{"b"})
	if got := mustCompile(t, m).Model(); got != m {
		t.Errorf("Model() = %p, want %p", got, m)
	}
}

func TestRule_Related_concurrentRegex(t *testing.T) {
	r := mustCompile(t, propRule([]string{"name"}, "regex", []string{"metadata", "pattern"}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if !r.Related(model.EntityResource, "c1", cluster(), model.EntityResource, "n1", network()) {
					t.Error("regex did not match")
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestRule_Related_noMatcher: a rule without a matcher relates every pair
// its side selectors allow (SPEC §9), never an entity to itself.
func TestRule_Related_noMatcher(t *testing.T) {
	kind := func(k string) *model.Selector { return model.CELSelector(`resource.kind == "` + k + `"`) }
	r := mustCompile(t, &model.RelationshipRule{FromType: model.EntityResource, ToType: model.EntityResource,
		FromSelector: kind(cluster()["kind"].(string)), ToSelector: kind(network()["kind"].(string))})
	if !r.Related(model.EntityResource, "c1", cluster(), model.EntityResource, "n1", network()) {
		t.Error("a cluster and a network are not related by a rule selecting both sides without a matcher")
	}
	if r.Related(model.EntityResource, "n1", network(), model.EntityResource, "c1", cluster()) {
		t.Error("related against the side selectors")
	}
	all := mustCompile(t, &model.RelationshipRule{FromType: model.EntityResource, ToType: model.EntityResource})
	if !all.Related(model.EntityResource, "c1", cluster(), model.EntityResource, "n1", network()) {
		t.Error("a rule without selectors or matcher does not relate two resources")
	}
	if all.Related(model.EntityResource, "c1", cluster(), model.EntityResource, "c1", cluster()) {
		t.Error("an entity is related to itself")
	}
}
