package engine

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestEngine_StoredExpressionsThatNoLongerCompile: selectors written by an
// earlier version and refused by this one (here a field the entity does not
// have) do not stop the workspace. A resource selector matches nothing; a
// policy selector fails closed, applying the policy to every target; each
// is logged once.
func TestEngine_StoredExpressionsThatNoLongerCompile(t *testing.T) {
	var logs bytes.Buffer
	h := newHarnessWith(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	world(h, "r1")
	ws, _ := h.eng.Workspace(h.ws)
	tx := ws.Store().Begin(context.Background())
	env := &model.Environment{ID: "broken", Name: "broken", ResourceSelector: model.CELSelector(`resource.kidn == "Cluster"`)}
	gate := &model.Policy{ID: "gate", Name: "gate", Enabled: true, Selector: `environment.nmae == "prod"`,
		Rules: []model.PolicyRule{{ID: "approve", PolicyID: "gate", AnyApproval: &model.AnyApprovalRule{MinApprovals: 1}}}}
	if err := store.Environments.Upsert(tx, env.ID, env); err != nil {
		t.Fatal(err)
	}
	if err := store.Policies.Upsert(tx, gate.ID, gate); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	h.must("system-environment.linked", linkE("s", "broken"))
	h.must("resource.created", resource("r2", nil))
	h.wantTargets("r1/prod/api", "r2/prod/api")
	h.must("deployment-version.created", version("v1", t0, ""))
	if jobs := h.allJobs(); len(jobs) != 0 {
		t.Fatalf("%d jobs: the broken policy's approval gate was bypassed", len(jobs))
	}
	for _, expr := range []string{"resource.kidn", "environment.nmae"} {
		if n := strings.Count(logs.String(), expr); n != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", expr, n, logs.String())
		}
	}
}
