package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

func provider(id string) map[string]any { return map[string]any{"id": id, "name": id} }

func setOf(providerID string, resources ...map[string]any) map[string]any {
	return map[string]any{"providerId": providerID, "resources": resources}
}

// TestEngine_SetResources: a provider's set replaces its resources by
// identifier (SPEC §5).
func TestEngine_SetResources(t *testing.T) {
	h := newHarness(t)
	world(h)
	h.must("resource-provider.created", provider("p"))
	h.must("resource-provider.created", provider("q"))
	h.must("resource.created", resource("unowned", nil))
	theirs := resource("theirs", nil)
	theirs["providerId"] = "q"
	h.must("resource.created", theirs)

	out, err := h.eng.ApplyBatch(context.Background(), h.ws, []Event{event(t, "resource-provider.set-resources",
		setOf("p", resource("r1", nil), resource("r2", nil), resource("theirs", nil), withID(resource("unowned", nil), "ignored")))})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Skipped) != 1 || out.Skipped[0].Identifier != "theirs" || out.Skipped[0].OwnerID != "q" {
		t.Fatalf("skipped %+v, want theirs (owned by q)", out.Skipped)
	}
	wantOwned(t, h, "p", "r1", "r2", "unowned")
	wantOwned(t, h, "q", "theirs")
	h.wantTargets("r1/prod/api", "r2/prod/api", "theirs/prod/api", "unowned/prod/api")

	h.must("deployment-version.created", version("v1", t0, ""))
	r1Job := h.onlyJob(prodKey("r1"))
	h.must("resource-provider.set-resources", setOf("p", resource("r1", nil), resource("unowned", map[string]string{"tier": "gold"}),
		resource("r3", nil)))
	wantOwned(t, h, "p", "r1", "r3", "unowned")
	if r, _ := store.Resources.Get(h.snapshot(), "unowned"); r.Metadata["tier"] != "gold" || r.UpdatedAt.IsZero() {
		t.Errorf("unowned was not updated: %+v", r)
	}
	if store.Resources.Has(h.snapshot(), "r2") {
		t.Error("r2, missing from the set, still exists")
	}
	if r, _ := store.Resources.Get(h.snapshot(), "r1"); !r.UpdatedAt.IsZero() {
		t.Errorf("r1, unchanged, was rewritten (updatedAt %v)", r.UpdatedAt)
	}
	if got := h.onlyJob(prodKey("r1")); got.ID != r1Job.ID || got.Status != model.JobPending {
		t.Errorf("r1's job changed: %+v", got)
	}

	t.Run("a deleted provider leaves its resources unowned", func(t *testing.T) {
		h.must("resource-provider.deleted", provider("p"))
		wantOwned(t, h, "p")
		wantOwned(t, h, "", "r1", "r3", "unowned")
	})
	t.Run("a bad set changes nothing", func(t *testing.T) {
		h.must("resource-provider.created", provider("p"))
		before := store.Resources.Count(h.snapshot())
		err := h.apply("resource-provider.set-resources", setOf("p", resource("x", nil), resource("x", nil)))
		if model.ErrorCode(err) != model.EINVALID || store.Resources.Count(h.snapshot()) != before {
			t.Fatalf("duplicate identifiers: %v, %d resources (want 400 and %d)", err, store.Resources.Count(h.snapshot()), before)
		}
		if err := h.apply("resource-provider.set-resources", setOf("nope")); model.ErrorCode(err) != model.EINVALID {
			t.Fatalf("unknown provider: %v, want 400", err)
		}
	})
}

func withID(r map[string]any, id string) map[string]any { r["id"] = id; return r }

// wantOwned checks the identifiers of a provider's resources ("" for the
// unowned ones).
func wantOwned(t *testing.T, h *harness, providerID string, want ...string) {
	t.Helper()
	var got []string
	for _, r := range store.Resources.Items(h.snapshot()) {
		if r.ProviderID == providerID {
			got = append(got, r.Identifier)
		}
	}
	slices.Sort(got)
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("resources of provider %q: %v, want %v", providerID, got, want)
	}
}

// BenchmarkSetResources compares a provider's set of 10,000 resources of
// which 100 changed with the same 100 changes as single resource events,
// on a workspace of 10 environments (100,000 targets).
func BenchmarkSetResources(b *testing.B) {
	const n, changed = 10_000, 100
	for _, backend := range []string{"memory", sqlstore.DialectSQLite, sqlstore.DialectPostgres} {
		for _, how := range []string{"set", "single"} {
			b.Run(how+"/"+backend, func(b *testing.B) {
				cfg, _ := backendConfig(b, backend)
				eng := New(cfg)
				applyAll(b, eng, "ws", everyResourceWorkspace(b, 10, 1, 0))
				applyAll(b, eng, "ws", []Event{event(b, "resource-provider.created", provider("p"))})
				set := make([]map[string]any, n)
				for i := range set {
					set[i] = resource(fmt.Sprint("r", i), map[string]string{"round": "0"})
				}
				applyAll(b, eng, "ws", []Event{event(b, "resource-provider.set-resources", setOf("p", set...))})
				b.ResetTimer()
				for round := range b.N {
					b.StopTimer() // building the request is the client's work
					var events []Event
					for i := range changed {
						set[i] = resource(fmt.Sprint("r", i), map[string]string{"round": fmt.Sprint(round + 1)})
						if how == "single" {
							r := set[i]
							r["providerId"] = "p"
							events = append(events, event(b, "resource.updated", r))
						}
					}
					if how == "set" {
						events = []Event{event(b, "resource-provider.set-resources", setOf("p", set...))}
					}
					b.StartTimer()
					if err := eng.Apply(context.Background(), "ws", events); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
