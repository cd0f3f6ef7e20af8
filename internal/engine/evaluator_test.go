package engine

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestEvaluator_Evaluate: one evaluator answers for several targets and
// versions exactly what Engine.Evaluate answers for each.
func TestEvaluator_Evaluate(t *testing.T) {
	h := newHarness(t)
	stages(h)
	h.must("policy.created", policyOf("gate", `environment.name == "prod"`, approvalRule("approve", 1)))
	h.must("deployment-version.created", version("v1", time.Now().Add(-time.Hour), ""))
	h.must("deployment-version.created", version("v2", time.Now(), ""))
	h.must("user-approval-record.created", approval("v1", "prod", "ana", model.ApprovalApproved))
	snap := h.snapshot()
	ev, err := h.eng.NewEvaluator(snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{s1Staging, p1Prod, p2Prod} {
		target, err := store.ReleaseTargets.Get(snap, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, vid := range []string{"v1", "v2"} {
			v, _ := store.DeploymentVersions.Get(snap, vid)
			got, err := ev.Evaluate(target, v)
			if err != nil {
				t.Fatal(err)
			}
			want, err := h.eng.Evaluate(snap, key, vid)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != want.Allowed || got.Message != want.Message || len(got.Policies) != len(want.Policies) {
				t.Errorf("%s %s: evaluator says %v %q, Evaluate %v %q", key, vid, got.Allowed, got.Message, want.Allowed, want.Message)
			}
		}
	}
	p1, _ := store.ReleaseTargets.Get(snap, p1Prod)
	v2, _ := store.DeploymentVersions.Get(snap, "v2")
	if got, _ := ev.Evaluate(p1, v2); got.Allowed {
		t.Errorf("v2 on prod has no approval but is allowed: %q", got.Message)
	}
}

// TestPolicyTargets: every policy gets its matched targets, disabled ones
// too, and one matching nothing gets an empty list rather than none.
func TestPolicyTargets(t *testing.T) {
	h := newHarness(t)
	stages(h)
	h.must("policy.created", policyOf("prod", `environment.name == "prod"`))
	off := policyOf("gated", `resource.metadata["gate"] == "yes"`)
	off["enabled"] = false
	h.must("policy.created", off)
	h.must("policy.created", policyOf("typo", `environment.name == "production"`))
	snap := h.snapshot()
	got, err := PolicyTargets(snap, store.Policies.Items(snap))
	if err != nil {
		t.Fatal(err)
	}
	keys := func(id string) []string {
		var out []string
		for _, t := range got[id] {
			out = append(out, t.Key())
		}
		slices.Sort(out)
		return out
	}
	want := map[string][]string{"prod": {p1Prod, p2Prod}, "gated": {p1Prod}, "typo": nil}
	for id, w := range want {
		if k := keys(id); !slices.Equal(k, w) {
			t.Errorf("policy %s matches %v, want %v", id, k, w)
		}
	}
	if list, ok := got["typo"]; !ok || list == nil {
		t.Errorf("a policy matching nothing has no entry: %v", got)
	}
}

// TestConfig_OnCommit: the hook hears of every commit, after its effects
// are visible to readers.
func TestConfig_OnCommit(t *testing.T) {
	var mu sync.Mutex
	var seen []int
	h := newHarness(t)
	h.eng = New(Config{OnCommit: func(ws string) {
		e, ok := h.eng.Workspace(ws)
		if !ok {
			t.Errorf("told of a commit in %s, which readers do not see", ws)
			return
		}
		mu.Lock()
		seen = append(seen, len(store.Systems.Items(e.Store().Snapshot())))
		mu.Unlock()
	}})
	t.Cleanup(h.eng.Close)
	h.must("system.created", system("a"))
	h.must("system.created", system("b"))
	if err := h.apply("system.created", map[string]any{"name": "no id"}); err == nil {
		t.Fatal("a system without an id was applied")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []int{1, 2}) {
		t.Errorf("commits seen with systems %v, want [1 2] (a refused event commits nothing)", seen)
	}
}
