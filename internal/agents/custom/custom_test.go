package custom_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/custom"
)

func TestCustom_IsPull(t *testing.T) {
	typ := custom.New()
	if typ.Name != "custom" || !typ.Pull || typ.Agent != nil || typ.Follower != nil {
		t.Fatalf("type = %+v, want a pull type with nothing to dispatch or follow", typ)
	}
	if _, err := agents.NewRegistry(typ); err != nil {
		t.Fatal(err)
	}
}
