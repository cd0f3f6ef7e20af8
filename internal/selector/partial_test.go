package selector

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestMatcher_MatchUnknown(t *testing.T) {
	env := MustNewEnv("deployment", "version")
	db := DeploymentVars(&model.Deployment{ID: "d1", Name: "db", Metadata: map[string]string{"tier": "data"}})
	tests := []struct {
		expr string
		want Outcome
	}{
		{`deployment.name == "db"`, True},
		{`deployment.name == "web"`, False},
		{`deployment.name == "db" && version.tag == "v2"`, Unknown},
		{`deployment.name == "web" && version.tag == "v2"`, False},
		{`deployment.name == "db" || version.tag == "v2"`, True},
		{`version.tag.startsWith("v2")`, Unknown},
		// CEL merges an error with an unknown into unknown, so a missing
		// key on the known side leaves the answer open (callers that need
		// more evaluate with the values the unknown may take).
		{`deployment.metadata["missing"] == "x" && version.tag == "v2"`, Unknown},
		{`deployment.metadata["tier"] == "data" && version.tag == "v2"`, Unknown},
		{`deployment.metadata["tier"] == "web" && version.tag == "v2"`, False},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			m, err := env.CompilePartialCEL(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.MatchUnknown(map[string]any{"deployment": db}, "version"); got != tt.want {
				t.Errorf("MatchUnknown = %v, want %v", got, tt.want)
			}
			// Known, the version decides as Match does.
			v2 := VersionVars(&model.DeploymentVersion{Tag: "v2.1"})
			full := map[string]any{"deployment": db, "version": v2}
			if got, want := m.MatchUnknown(full), m.Match(full); (got == True) != want {
				t.Errorf("with every variable known: MatchUnknown = %v, Match = %v", got, want)
			}
		})
	}
	t.Run("refused like CompileCEL", func(t *testing.T) {
		if _, err := env.CompilePartialCEL(`version.nmae == "x"`); err == nil {
			t.Fatal("an unknown field compiled")
		}
	})
}
