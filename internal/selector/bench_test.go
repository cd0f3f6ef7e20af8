package selector_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

func BenchmarkMatcher_Match(b *testing.B) {
	env := selector.ResourceEnv()
	vars := map[string]any{
		"resource":    prodResource(),
		"deployment":  map[string]any{"name": "api"},
		"environment": map[string]any{"name": "production"},
	}
	cases := []struct {
		name string
		sel  string
	}{
		{"cel metadata", `{"cel": "resource.metadata[\"env\"] == \"prod\""}`},
		{"json metadata", `{"json": {"type": "metadata", "key": "env", "operator": "equals", "value": "prod"}}`},
		{"json and with date", `{"json": {"operator": "and", "conditions": [
			{"type": "metadata", "key": "env", "operator": "equals", "value": "prod"},
			{"type": "created-at", "operator": "before", "value": "2025-01-01T00:00:00Z"}]}}`},
	}
	for _, c := range cases {
		m, err := env.Compile(parse(b, c.sel))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !m.Match(vars) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkMatcher_CostLimit measures what one evaluation costs at most: each
// expression is admitted by the cost estimate but meets data fifty times
// beyond the size bounds, so evaluation runs until the cost limit stops it.
// The time per evaluation is the most a selector can take per entity.
func BenchmarkMatcher_CostLimit(b *testing.B) {
	metadata := map[string]any{}
	hosts := make([]any, 50*selector.MaxEntries)
	for i := range hosts {
		metadata[fmt.Sprintf("label-%05d", i)] = strings.Repeat("v", selector.MaxStringSize-8) + fmt.Sprintf("%08d", i)
		hosts[i] = fmt.Sprintf("host-%05d.eu-west-1.internal", i)
	}
	vars := map[string]any{"resource": map[string]any{
		"name": strings.Repeat("n", selector.MaxStringSize), "metadata": metadata,
		"config": map[string]any{"hosts": hosts},
	}}
	for _, expr := range []string{
		`resource.metadata.exists(k, k.startsWith("team-") && resource.metadata[k] == "core")`,
		`resource.metadata.exists(k, k.startsWith("team-") || k.startsWith("owner-"))`,
		`resource.metadata.exists(k, k.matches("^team-"))`,
		`resource.metadata.exists(k, (k + resource.metadata[k]).size() > 1000)`,
		`resource.config.hosts.exists(h, h.endsWith(".eu-west-2.internal"))`,
	} {
		m, err := selector.ResourceEnv().CompileCEL(expr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.MatchErr(vars); err == nil || !strings.Contains(err.Error(), "cost limit") {
			b.Fatalf("%s: want the cost limit to stop it, got %v", expr, err)
		}
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				m.Match(vars)
			}
		})
	}
}
