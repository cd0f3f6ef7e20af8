package selector_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// parse decodes a wire selector exactly as the API would.
func parse(t testing.TB, text string) *model.Selector {
	t.Helper()
	var s model.Selector
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		t.Fatalf("unmarshal %s: %v", text, err)
	}
	return &s
}

func prodResource() map[string]any {
	return map[string]any{
		"id":         "r-1",
		"name":       "api-prod-1",
		"kind":       "KubernetesCluster",
		"identifier": "clusters/api-prod-1",
		"version":    "gatehouse/kubernetes/v1",
		"metadata":   map[string]any{"env": "prod", "region": "us-east-1"},
		"config":     map[string]any{"replicas": int64(3), "enabled": true},
		"createdAt":  "2024-05-01T12:00:00Z",
		"updatedAt":  "2024-06-01T12:00:00Z",
	}
}

func TestNewEnvConfig_Validation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     selector.Config
		wantErr string
	}{
		{"ok", selector.Config{Vars: []string{"from", "to"}}, ""},
		{"explicit subject", selector.Config{Vars: []string{"from", "to"}, Subject: "to"}, ""},
		{"no vars", selector.Config{}, "at least one variable"},
		{"bad name", selector.Config{Vars: []string{"re-source"}}, "invalid variable name"},
		{"empty name", selector.Config{Vars: []string{""}}, "invalid variable name"},
		{"duplicate", selector.Config{Vars: []string{"a", "a"}}, "duplicate variable"},
		{"undeclared subject", selector.Config{Vars: []string{"a"}, Subject: "b"}, "not a declared variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := selector.NewEnvConfig(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || env == nil {
					t.Fatalf("NewEnvConfig() = %v, %v; want env", env, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewEnvConfig() error = %v; want %q", err, tt.wantErr)
			}
		})
	}
}

func TestEnv_CompileCEL(t *testing.T) {
	env := selector.ResourceEnv()
	full := map[string]any{
		"resource":    prodResource(),
		"deployment":  map[string]any{"name": "api", "slug": "api"},
		"environment": map[string]any{"name": "production"},
	}
	tests := []struct {
		name string
		expr string
		vars map[string]any
		want bool
	}{
		{"true matches all", "true", nil, true},
		{"true with vars", "true", full, true},
		{"false matches nothing", "false", full, false},
		{"empty matches nothing", "", full, false},
		{"blank matches nothing", "  \n\t", full, false},
		{"metadata equals", `resource.metadata["env"] == "prod"`, full, true},
		{"metadata select syntax", `resource.metadata.region.startsWith("us-")`, full, true},
		{"metadata mismatch", `resource.metadata["env"] == "staging"`, full, false},
		{"missing metadata key", `resource.metadata["team"] == "core"`, full, false},
		{"missing nested config key", `resource.config.spec.image == "x"`, full, false},
		{"has on missing key", `has(resource.metadata.team)`, full, false},
		{"absent variable", `resource.name == "api-prod-1"`, map[string]any{}, false},
		{"nil variable", `resource.name == "api-prod-1"`, map[string]any{"resource": nil}, false},
		{"nil vars map", `resource.name == "api-prod-1"`, nil, false},
		{"int compares with int literal", `resource.config.replicas == 3`, full, true},
		{"int ordering", `resource.config.replicas > 2`, full, true},
		{"bool field", `resource.config.enabled`, full, true},
		{"several variables", `deployment.name == "api" && environment.name == "production" && resource.kind == "KubernetesCluster"`, full, true},
		{"or absorbs missing key", `resource.metadata["team"] == "core" || resource.name == "api-prod-1"`, full, true},
		{"regex matches", `resource.name.matches("^api-.*-[0-9]+$")`, full, true},
		{"in list", `resource.metadata.env in ["prod", "staging"]`, full, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := env.CompileCEL(tt.expr)
			if err != nil {
				t.Fatalf("CompileCEL(%q) error: %v", tt.expr, err)
			}
			got, err := m.MatchErr(tt.vars)
			if err != nil {
				t.Fatalf("MatchErr() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("MatchErr() = %v, want %v", got, tt.want)
			}
			if m.Match(tt.vars) != tt.want {
				t.Errorf("Match() disagrees with MatchErr()")
			}
		})
	}
}

func TestEnv_CompileCEL_Invalid(t *testing.T) {
	env := selector.ResourceEnv()
	tests := []struct {
		name    string
		expr    string
		wantMsg string // part of the CEL message
	}{
		{"syntax error", `resource.name ==`, "Syntax error"},
		{"undeclared variable", `version.tag == "v1"`, "undeclared reference"},
		{"int result", `1 + 1`, "must evaluate to bool"},
		{"string result", `"prod"`, "must evaluate to bool"},
		{"size result", `size(resource.metadata)`, "must evaluate to bool"},
		{"no matching overload", `resource + 1 == 2`, "no matching overload"},
		{"field the entity does not have", `resource.spec.image == "x"`, "undefined field 'spec'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := env.CompileCEL(tt.expr)
			if err == nil {
				t.Fatalf("CompileCEL(%q) = %v, want error", tt.expr, m)
			}
			if !strings.Contains(err.Error(), "selector") || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q; want it to mention selector and %q", err, tt.wantMsg)
			}
		})
	}
}

func TestMatcher_MatchErr(t *testing.T) {
	items := make([]any, 600)
	for i := range items {
		items[i] = int64(i)
	}
	inputs := map[string]any{"inputs": map[string]any{"items": items, "name": "x"}}
	// Admitted by the estimate (lists of up to MaxEntries), but the list is
	// six times longer than that.
	loop := `inputs.items.all(x, x >= 0)`

	tight, err := selector.NewEnvConfig(selector.Config{Vars: []string{"inputs"}, CostLimit: 2000})
	if err != nil {
		t.Fatal(err)
	}
	roomy, err := selector.NewEnv("inputs")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     *selector.Env
		expr    string
		want    bool
		wantErr string
	}{
		{"cost limit exceeded", tight, loop, false, "cost limit"},
		{"within default limit", roomy, loop, true, ""},
		{"dyn result that is bool", roomy, `inputs.items.size() > 0 && inputs.items[0] == 0`, true, ""},
		{"dyn result that is not bool", roomy, `inputs.name`, false, "not bool"},
		{"runtime type error", roomy, `inputs.name > 3`, false, "no such overload"},
		{"missing key is not an error", roomy, `inputs.other == 1`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.env.CompileCEL(tt.expr)
			if err != nil {
				t.Fatalf("CompileCEL(%q) error: %v", tt.expr, err)
			}
			got, err := m.MatchErr(inputs)
			if got != tt.want {
				t.Errorf("MatchErr() = %v, want %v", got, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("MatchErr() error = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("MatchErr() error = %v, want %q", err, tt.wantErr)
			}
			if m.Match(inputs) != tt.want {
				t.Errorf("Match() disagrees with MatchErr()")
			}
		})
	}
}

func TestEnv_Compile(t *testing.T) {
	env := selector.ResourceEnv()
	vars := map[string]any{"resource": prodResource()}
	celText := `resource.metadata.env == "prod"`
	tests := []struct {
		name    string
		sel     *model.Selector
		want    bool
		wantErr string
	}{
		{"nil selector matches nothing", nil, false, ""},
		{"cel selector", model.CELSelector(celText), true, ""},
		{"cel from wire", parse(t, `{"cel": "resource.kind == 'KubernetesCluster'"}`), true, ""},
		{"json from wire", parse(t, `{"json": {"type": "name", "operator": "starts-with", "value": "api-"}}`), true, ""},
		{"both set", &model.Selector{CEL: &celText, JSON: map[string]any{}}, false, "both"},
		{"neither set", &model.Selector{}, false, "neither"},
		{"bad cel", model.CELSelector(`resource.`), false, "selector.cel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := env.Compile(tt.sel)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Compile() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile() error: %v", err)
			}
			if got := m.Match(vars); got != tt.want {
				t.Errorf("Match() = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("nil matcher matches nothing", func(t *testing.T) {
		var m *selector.Matcher
		if ok, err := m.MatchErr(vars); ok || err != nil {
			t.Errorf("MatchErr() = %v, %v; want false, nil", ok, err)
		}
	})
}

func TestEnv_Compile_Cache(t *testing.T) {
	const expr = `resource.name == "a"`
	const tree = `{"json": {"operator": "and", "conditions": [{"type": "kind", "operator": "equals", "value": "K"}]}}`
	t.Run("same cel text gives same matcher", func(t *testing.T) {
		env := selector.MustNewEnv("resource")
		a, _ := env.CompileCEL(expr)
		b, _ := env.Compile(model.CELSelector(expr))
		if a == nil || a != b {
			t.Errorf("CompileCEL twice: %p != %p", a, b)
		}
	})
	t.Run("equal json trees give same matcher", func(t *testing.T) {
		env := selector.MustNewEnv("resource")
		a, _ := env.Compile(parse(t, tree))
		b, _ := env.Compile(parse(t, tree))
		if a == nil || a != b {
			t.Errorf("Compile twice: %p != %p", a, b)
		}
	})
	t.Run("envs do not share entries", func(t *testing.T) {
		a, _ := selector.MustNewEnv("resource").CompileCEL(expr)
		b, _ := selector.MustNewEnv("resource").CompileCEL(expr)
		if a == b {
			t.Error("distinct envs returned the same matcher")
		}
	})
	t.Run("disabled cache", func(t *testing.T) {
		env, err := selector.NewEnvConfig(selector.Config{Vars: []string{"resource"}, CacheSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := env.CompileCEL(expr)
		b, _ := env.CompileCEL(expr)
		if a == b {
			t.Error("cache disabled but matcher reused")
		}
	})
	t.Run("least recently used is evicted", func(t *testing.T) {
		env, err := selector.NewEnvConfig(selector.Config{Vars: []string{"resource"}, CacheSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		a1, _ := env.CompileCEL(`resource.name == "a"`)
		b1, _ := env.CompileCEL(`resource.name == "b"`)
		if a2, _ := env.CompileCEL(`resource.name == "a"`); a2 != a1 { // a is now most recent
			t.Fatal("a evicted too early")
		}
		_, _ = env.CompileCEL(`resource.name == "c"`) // evicts b
		if a3, _ := env.CompileCEL(`resource.name == "a"`); a3 != a1 {
			t.Error("a was evicted, want b evicted")
		}
		if b2, _ := env.CompileCEL(`resource.name == "b"`); b2 == b1 {
			t.Error("b was not evicted")
		}
	})
}

func TestMatcher_Match_Concurrent(t *testing.T) {
	env := selector.ResourceEnv()
	celM, err := env.CompileCEL(`resource.metadata.env == "prod" && resource.config.replicas >= 3`)
	if err != nil {
		t.Fatal(err)
	}
	jsonM, err := env.Compile(parse(t, `{"json": {"operator": "and", "conditions": [
		{"type": "metadata", "key": "env", "operator": "equals", "value": "prod"},
		{"type": "name", "operator": "regex", "value": "^api-"},
		{"type": "created-at", "operator": "before", "value": "2025-01-01T00:00:00Z"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	prod := map[string]any{"resource": prodResource()}
	other := map[string]any{"resource": map[string]any{"name": "db", "metadata": map[string]any{"env": "dev"}}}

	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				// Compiling alongside matching exercises the shared cache.
				expr := fmt.Sprintf(`resource.name == "n%d"`, (g+i)%10)
				if _, err := env.CompileCEL(expr); err != nil {
					errs <- err.Error()
					return
				}
				for _, m := range []*selector.Matcher{celM, jsonM} {
					if !m.Match(prod) || m.Match(other) {
						errs <- "wrong result under concurrency"
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
