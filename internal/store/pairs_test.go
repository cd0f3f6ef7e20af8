package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func targetKeys(ts []*model.ReleaseTarget) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Key()
	}
	return out
}

// Ids with slashes and backslashes must not make one environment's or
// deployment's targets show up under another: the pair keys of
// deployment "/b" and of deployment "b" both end in "/b".
func TestPairLookup_IdsWithSeparators(t *testing.T) {
	s, err := store.New("ws")
	if err != nil {
		t.Fatal(err)
	}
	tx := s.Begin(context.Background())
	targets := []*model.ReleaseTarget{
		{ResourceID: "r1", EnvironmentID: "a", DeploymentID: "b"},
		{ResourceID: "r1", EnvironmentID: "a", DeploymentID: "x/b"},
		{ResourceID: "r2", EnvironmentID: `a\`, DeploymentID: "b"},
		{ResourceID: "r2", EnvironmentID: "a/x", DeploymentID: "/b"},
	}
	put := func(tx *store.Tx, rt *model.ReleaseTarget) {
		if err := store.ReleaseTargets.Upsert(tx, rt.Key(), rt); err != nil {
			t.Fatal(err)
		}
	}
	for _, rt := range targets[:2] {
		put(tx, rt)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Half committed, half in an open transaction: a lookup inside the
	// transaction sees both layers, one outside only the committed one.
	tx = s.Begin(context.Background())
	defer tx.Abort()
	for _, rt := range targets[2:] {
		put(tx, rt)
	}
	if err := store.ReleaseTargets.Remove(tx, targets[1].Key()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		r      store.Reader
		lookup store.PairLookup
		id     string
		want   []*model.ReleaseTarget
	}{
		{"environment a in tx", tx, store.TargetsByEnvironment, "a", targets[:1]},
		{"environment a committed", s.Snapshot(), store.TargetsByEnvironment, "a", targets[:2]},
		{`environment a\`, tx, store.TargetsByEnvironment, `a\`, targets[2:3]},
		{"deployment b", tx, store.TargetsByDeployment, "b", []*model.ReleaseTarget{targets[0], targets[2]}},
		{"deployment x/b removed in tx", tx, store.TargetsByDeployment, "x/b", nil},
		{"deployment /b", tx, store.TargetsByDeployment, "/b", targets[3:]},
		{"deployment b committed", s.Snapshot(), store.TargetsByDeployment, "b", targets[:1]},
	}
	for _, c := range cases {
		got := targetKeys(c.lookup.Get(c.r, c.id))
		want := targetKeys(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", c.name, got, want)
		}
	}
}

// An index value outgrows the small set and shrinks again: every key is
// found on the way up and none is left over on the way down.
func TestIndex_GrowsAndShrinks(t *testing.T) {
	s, err := store.New("ws")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 40 {
		tx := s.Begin(context.Background())
		rt := &model.ReleaseTarget{ResourceID: "r", EnvironmentID: "e", DeploymentID: string(rune('A' + i))}
		if err := store.ReleaseTargets.Upsert(tx, rt.Key(), rt); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, rt.Key())
		if n := len(store.TargetsByResource.Get(s.Snapshot(), "r")); n != i+1 {
			t.Fatalf("after %d upserts the resource has %d targets", i+1, n)
		}
	}
	for i, k := range keys {
		tx := s.Begin(context.Background())
		if err := store.ReleaseTargets.Remove(tx, k); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if n := store.TargetsByResource.Count(s.Snapshot(), "r"); n != len(keys)-i-1 {
			t.Fatalf("after %d removals the resource has %d targets", i+1, n)
		}
	}
}
