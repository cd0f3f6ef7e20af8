package selector_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

func TestMatcher_LazyVariables(t *testing.T) {
	env := selector.ResourceEnv()
	builds := 0
	environment := func() map[string]any {
		builds++
		return map[string]any{"name": "prod"}
	}
	vars := map[string]any{"resource": prodResource(), "environment": environment}
	tests := []struct {
		sel        string
		want       bool
		wantBuilds int
	}{
		{`{"cel": "resource.metadata.env == 'prod'"}`, true, 0},
		{`{"cel": "environment.name == 'prod'"}`, true, 1},
		{`{"cel": "environment.name == 'dev'"}`, false, 1},
		{`{"json": {"type": "name", "operator": "equals", "value": "api-prod-1"}}`, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			builds = 0
			m, err := env.Compile(parse(t, tt.sel))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(vars); got != tt.want {
				t.Errorf("Match() = %v, want %v", got, tt.want)
			}
			if builds != tt.wantBuilds {
				t.Errorf("environment built %d times, want %d", builds, tt.wantBuilds)
			}
		})
	}
	t.Run("lazy subject of a JSON selector", func(t *testing.T) {
		m, err := env.Compile(parse(t, `{"json": {"type": "kind", "operator": "equals", "value": "KubernetesCluster"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if !m.Match(map[string]any{"resource": func() map[string]any { return prodResource() }}) {
			t.Error("no match through a lazy resource")
		}
	})
	t.Run("a nil func is an absent variable", func(t *testing.T) {
		m, err := env.CompileCEL(`environment.name == ""`)
		if err != nil {
			t.Fatal(err)
		}
		var none func() map[string]any
		if ok, err := m.MatchErr(map[string]any{"environment": none}); ok || err != nil {
			t.Errorf("MatchErr() = %v, %v; want false, nil", ok, err)
		}
	})
}
