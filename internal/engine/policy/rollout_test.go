package policy

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// rolloutWorld has five targets of d1 in prod and version v1 created at
// progT0.
func rolloutWorld(t *testing.T) (*progFixture, []*model.ReleaseTarget, *model.DeploymentVersion) {
	f := newProgFixture(t)
	f.env("e-prod", "prod", "s1")
	targets := f.targets("e-prod", "r1", "r2", "r3", "r4", "r5")
	return f, targets, f.version("v1", progT0)
}

// expectedOrder computes the rollout order independently of the code under
// test: FNV-1a-64 of wire key+version ascending, ties by key.
func expectedOrder(targets []*model.ReleaseTarget, versionID string) []string {
	type kh struct {
		key string
		h   uint64
	}
	var all []kh
	for _, t := range targets {
		h := fnv.New64a()
		fmt.Fprint(h, t.ResourceID+"-"+t.EnvironmentID+"-"+t.DeploymentID+versionID)
		all = append(all, kh{t.Key(), h.Sum64()})
	}
	slices.SortFunc(all, func(a, b kh) int {
		return cmp.Or(cmp.Compare(a.h, b.h), cmp.Compare(a.key, b.key))
	})
	keys := make([]string, len(all))
	for i, x := range all {
		keys[i] = x.key
	}
	return keys
}

func TestEvalGradualRollout(t *testing.T) {
	linear := `{"id": "r", "gradualRollout": {"rolloutType": "linear", "timeScaleInterval": 60}}`
	normalized := `{"id": "r", "gradualRollout": {"rolloutType": "linear-normalized", "timeScaleInterval": 100}}`
	approvedAt := progT0.Add(time.Hour)
	progressedAt := progT0.Add(2 * time.Hour)
	at := func(t time.Time) *time.Time { return &t }
	tests := []struct {
		name     string
		rule     string
		position int           // of the evaluated target in the expected order
		now      time.Duration // after progT0
		prior    []Result
		want     progWant
	}{
		{name: "first slot opens at the start", rule: linear, position: 0, now: 0,
			want: progWant{state: "allowed", satisfiedAt: progT0, msg: "rollout slot 1 of 5 opened"}},
		{name: "before its linear slot", rule: linear, position: 2, now: 119 * time.Second,
			want: progWant{state: "pending", next: progT0.Add(120 * time.Second),
				msg: "rollout slot 3 of 5 opens at 12:02 UTC"}},
		{name: "linear slot exactly now", rule: linear, position: 2, now: 120 * time.Second,
			want: progWant{state: "allowed", satisfiedAt: progT0.Add(120 * time.Second), noNext: true}},
		{name: "last linear slot", rule: linear, position: 4, now: time.Hour,
			want: progWant{state: "allowed", satisfiedAt: progT0.Add(240 * time.Second)}},
		{name: "normalized slot is truncated to whole seconds", rule: normalized, position: 3, now: 0,
			// 3/5·100s = 60s exactly; position 1 is 20s, position 4 is 80s.
			want: progWant{state: "pending", next: progT0.Add(60 * time.Second), msg: "slot 4 of 5 opens at 12:01 UTC"}},
		{name: "normalized slot exactly now", rule: normalized, position: 4, now: 80 * time.Second,
			want: progWant{state: "allowed", satisfiedAt: progT0.Add(80 * time.Second)}},
		{name: "start from the latest satisfied approval or progression", rule: linear, position: 1,
			now: 2*time.Hour + 30*time.Second,
			prior: []Result{
				{Kind: KindAnyApproval, Allowed: true, SatisfiedAt: at(approvedAt)},
				{Kind: KindEnvironmentProgression, Allowed: true, SatisfiedAt: at(progressedAt)},
				{Kind: KindVersionCooldown, Allowed: true, SatisfiedAt: at(progT0.Add(5 * time.Hour))},
			},
			want: progWant{state: "pending", next: progressedAt.Add(time.Minute)}},
		{name: "allowed prior without satisfiedAt keeps createdAt", rule: linear, position: 1, now: time.Minute,
			prior: []Result{{Kind: KindAnyApproval, Allowed: true}},
			want:  progWant{state: "allowed", satisfiedAt: progT0.Add(time.Minute)}},
		{name: "not started while approval is pending", rule: linear, position: 0, now: time.Hour,
			prior: []Result{
				{Kind: KindEnvironmentProgression, Allowed: true, SatisfiedAt: at(progressedAt)},
				{Kind: KindAnyApproval, ActionRequired: true, ActionType: ActionApproval},
			},
			want: progWant{state: "pending", noNext: true, msg: "rollout has not started"}},
		{name: "not started while progression is denied", rule: linear, position: 0, now: time.Hour,
			prior: []Result{{Kind: KindEnvironmentProgression}},
			want:  progWant{state: "pending", msg: "rollout has not started"}},
		{name: "other pending rules do not hold the start", rule: linear, position: 0, now: 0,
			prior: []Result{{Kind: KindDeploymentWindow, ActionRequired: true, ActionType: ActionWait}},
			want:  progWant{state: "allowed", satisfiedAt: progT0}},
		{name: "unknown rollout type", rule: `{"gradualRollout": {"rolloutType": "exponential"}}`, position: 0,
			want: progWant{state: "denied", msg: "exponential"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, targets, v := rolloutWorld(t)
			order := expectedOrder(targets, v.ID)
			i := slices.IndexFunc(targets, func(t *model.ReleaseTarget) bool { return t.Key() == order[tc.position] })
			got := evalGradualRollout(f.input(progT0.Add(tc.now), targets[i], v, tc.prior...), progRule(t, tc.rule))
			tc.want.check(t, got)
			if got.Allowed || got.NextEvaluationTime != nil {
				if got.Details["position"] != tc.position || got.Details["total"] != 5 {
					t.Errorf("details position/total = %v/%v, want %d/5", got.Details["position"], got.Details["total"], tc.position)
				}
				if _, ok := got.Details["slot"].(time.Time); !ok {
					t.Errorf("details slot = %v, want a time", got.Details["slot"])
				}
			}
		})
	}
}

func TestEvalGradualRollout_Order(t *testing.T) {
	rule := progRule(t, `{"gradualRollout": {"rolloutType": "linear", "timeScaleInterval": 60}}`)
	f, targets, v := rolloutWorld(t)

	positions := func(v *model.DeploymentVersion) map[string]int {
		out := map[string]int{}
		for _, tg := range targets {
			got := evalGradualRollout(f.input(progT0, tg, v), rule)
			out[tg.Key()] = got.Details["position"].(int)
		}
		return out
	}
	t.Run("positions are a permutation matching the hash order", func(t *testing.T) {
		pos := positions(v)
		seen := make([]bool, len(targets))
		for key, p := range pos {
			if p < 0 || p >= len(targets) || seen[p] {
				t.Fatalf("positions %v are not a permutation of 0..%d", pos, len(targets)-1)
			}
			seen[p] = true
			if want := expectedOrder(targets, v.ID)[p]; want != key {
				t.Errorf("position %d holds %s, want %s", p, key, want)
			}
		}
	})
	t.Run("deterministic", func(t *testing.T) {
		first := positions(v)
		for range 5 {
			if again := positions(v); !mapsEqual(first, again) {
				t.Fatalf("positions changed: %v then %v", first, again)
			}
		}
	})
	t.Run("versions get their own order", func(t *testing.T) {
		// FNV-1a mixes its last bytes weakly, so ids such as v1 and v2 share
		// an order; UUIDs, the ids used in practice, differ early. These two
		// are known to give different orders.
		a := f.version("9b2f6a1e-3c4d-4e5f-8a7b-1c2d3e4f5a6b", progT0)
		b := f.version("0d7e1f2a-5b6c-4d8e-9f0a-2b3c4d5e6f7a", progT0)
		if mapsEqual(positions(a), positions(b)) {
			t.Errorf("two versions share an order: %v", positions(a))
		}
	})
	t.Run("a target missing from the table still gets a slot", func(t *testing.T) {
		extra := &model.ReleaseTarget{ResourceID: "r9", EnvironmentID: "e-prod", DeploymentID: "d1"}
		got := evalGradualRollout(f.input(progT0, extra, v), rule)
		if got.Details["total"] != 6 {
			t.Errorf("total = %v, want 6", got.Details["total"])
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
