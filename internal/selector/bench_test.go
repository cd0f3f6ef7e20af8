package selector_test

import (
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
