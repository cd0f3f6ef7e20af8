package engine

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestFindTarget: ids with dashes make wire keys ambiguous. Resource "eu"
// in environment "1-prod" and resource "eu-1" in "prod" are two targets
// (today's keys keep them apart), and the wire form is read only where it
// names one of them.
func TestFindTarget(t *testing.T) {
	h := newHarness(t)
	h.must("system.created", system("s"))
	h.must("environment.created", environment("prod", cel(`resource.name == "eu-1"`)))
	h.must("environment.created", environment("1-prod", cel(`resource.name == "eu"`)))
	h.must("deployment.created", deployment("api", cel("true")))
	for _, l := range []struct{ kind, id string }{{"environment", "prod"}, {"environment", "1-prod"}, {"deployment", "api"}} {
		h.must("system-"+l.kind+".linked", map[string]any{"systemId": "s", l.kind + "Id": l.id})
	}
	h.must("resource.created", resource("eu", nil))
	h.must("resource.created", resource("eu-1", nil))
	h.must("resource.created", resource("r1", nil))
	h.wantTargets("eu/1-prod/api", "eu-1/prod/api")
	h.must("deployment-version.created", map[string]any{"id": "v1", "tag": "v1", "deploymentId": "api"})
	a, b := h.desired(model.CompositeKey("eu", "1-prod", "api")), h.desired(model.CompositeKey("eu-1", "prod", "api"))
	if a == nil || b == nil || a.ID == b.ID {
		t.Fatalf("the two targets share a release: %v and %v", a, b)
	}

	snap := h.snapshot()
	tests := []struct {
		name, key string
		want      *model.ReleaseTarget // nil: an error with the code below
		code      string
	}{
		{"identity", model.CompositeKey("eu", "1-prod", "api"), &model.ReleaseTarget{ResourceID: "eu", EnvironmentID: "1-prod", DeploymentID: "api"}, ""},
		{"the other identity", model.CompositeKey("eu-1", "prod", "api"), &model.ReleaseTarget{ResourceID: "eu-1", EnvironmentID: "prod", DeploymentID: "api"}, ""},
		{"ambiguous wire form", "eu-1-prod-api", nil, model.EINVALID},
		{"no target", "r1-prod-api", nil, model.ENOTFOUND},
		{"not a key", "nonsense", nil, model.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindTarget(snap, tt.key)
			if tt.want == nil {
				if model.ErrorCode(err) != tt.code {
					t.Fatalf("FindTarget(%q) = %v, %v; want code %s", tt.key, got, err, tt.code)
				}
				if tt.code == model.EINVALID && !strings.Contains(err.Error(), "ambiguous") {
					t.Errorf("error %q does not say the key is ambiguous", err)
				}
				return
			}
			if err != nil || got.Key() != tt.want.Key() {
				t.Fatalf("FindTarget(%q) = %v, %v; want %v", tt.key, got, err, tt.want)
			}
		})
	}

	t.Run("an unambiguous wire form", func(t *testing.T) {
		h.must("resource.deleted", map[string]any{"id": "eu"})
		got, err := FindTarget(h.snapshot(), "eu-1-prod-api")
		if err != nil || got.Key() != model.CompositeKey("eu-1", "prod", "api") {
			t.Fatalf("FindTarget = %v, %v; want eu-1/prod/api", got, err)
		}
		if n := store.ReleaseTargets.Count(h.snapshot()); n != 1 {
			t.Errorf("%d targets, want 1", n)
		}
	})
}
