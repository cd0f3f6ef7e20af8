package selector_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// Realistic selectors stay well within the limit under the size bounds;
// loops inside loops do not, nor does a regex taken from data in a loop.
func TestEnv_CompileCEL_Cost(t *testing.T) {
	target := selector.VersionEnv()
	inputs := selector.MustNewEnv("inputs")
	tests := []struct {
		env     *selector.Env
		expr    string
		refused bool
	}{
		{target, `resource.metadata["env"] == "prod" && resource.name.startsWith("eu-")`, false},
		{target, `version.tag.matches("^v1\\.")`, false},
		{target, `resource.kind == "Cluster" && resource.metadata["team"] == "core" && resource.config["tier"] == "gold"`, false},
		{target, `resource.metadata.exists(k, k.startsWith("team-"))`, false},
		{target, `resource.metadata.exists(k, k.startsWith("team-") && resource.metadata[k] == "core")`, false},
		{target, `resource.metadata.all(k, resource.metadata[k] != "")`, false},
		{target, `resource.metadata.filter(k, k.startsWith("a")).size() > 2`, false},
		{target, `resource.config.hosts.exists(h, h.endsWith(".internal"))`, false},
		{target, `resource.metadata.env in ["prod", "staging", "qa"]`, false},
		{target, `timestamp(version.createdAt) > timestamp(environment.createdAt)`, false},
		{target, `resource.name.contains(resource.identifier)`, false},
		{target, `resource.name.matches(resource.metadata["pattern"])`, false},
		{inputs, `inputs.regions.exists(r, r == "eu-west-1")`, false},
		{target, `resource.metadata.all(k, resource.metadata.all(j, k == j || resource.metadata[j] != ""))`, true},
		{target, `resource.metadata.exists(k, resource.name.matches(resource.metadata[k]))`, true},
		{target, `resource.config.hosts.exists(h, resource.config.zones.exists(z, h.endsWith(z)))`, true},
		{inputs, `inputs.items.all(x, inputs.items.all(y, x + y >= 0))`, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := tt.env.CompileCEL(tt.expr)
			switch {
			case !tt.refused && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.refused && err == nil:
				t.Fatal("accepted, want refused for its cost")
			case tt.refused && !strings.Contains(err.Error(), fmt.Sprintf("over the limit of %d", selector.DefaultCostLimit)):
				t.Fatalf("error %q does not name the limit", err)
			}
		})
	}
}

// The run-time limit stops what the estimate could not foresee: data far
// beyond the size bounds. The stopped evaluation is no match, with an error.
func TestMatcher_CostLimitAtRunTime(t *testing.T) {
	m, err := selector.ResourceEnv().CompileCEL(`resource.metadata.exists(k, k.startsWith("team-") && resource.metadata[k] == "core")`)
	if err != nil {
		t.Fatal(err)
	}
	small, large := map[string]any{"team-a": "core"}, map[string]any{}
	for i := range 10 * selector.MaxEntries * 10 {
		large[fmt.Sprint("label-", i)] = "x"
	}
	if ok, err := m.MatchErr(map[string]any{"resource": map[string]any{"metadata": small}}); !ok || err != nil {
		t.Errorf("small metadata: MatchErr() = %v, %v; want true, nil", ok, err)
	}
	ok, err := m.MatchErr(map[string]any{"resource": map[string]any{"metadata": large}})
	if ok || err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Errorf("huge metadata: MatchErr() = %v, %v; want false and a cost limit error", ok, err)
	}
}
