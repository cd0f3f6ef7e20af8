package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// harness applies events to one workspace of a memory-only engine.
type harness struct {
	t   *testing.T
	eng *Engine
	ws  string
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, eng: New(Config{}), ws: "ws-" + t.Name()}
}

func (h *harness) apply(eventType string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.eng.Apply(context.Background(), h.ws, []Event{{Type: eventType, Data: raw}})
}

func (h *harness) must(eventType string, data any) {
	h.t.Helper()
	if err := h.apply(eventType, data); err != nil {
		h.t.Fatalf("%s: %v", eventType, err)
	}
}

func (h *harness) snapshot() store.Snapshot {
	ws, ok := h.eng.Workspace(h.ws)
	if !ok {
		h.t.Fatal("workspace does not exist")
	}
	return ws.Store().Snapshot()
}

// targets returns the sorted "resource/environment/deployment" names.
func (h *harness) targets() []string {
	var out []string
	for _, t := range store.ReleaseTargets.Items(h.snapshot()) {
		out = append(out, t.ResourceID+"/"+t.EnvironmentID+"/"+t.DeploymentID)
	}
	slices.Sort(out)
	return out
}

func (h *harness) wantTargets(want ...string) {
	h.t.Helper()
	slices.Sort(want)
	if got := h.targets(); !slices.Equal(got, want) {
		h.t.Fatalf("targets:\n got  %v\n want %v", got, want)
	}
}

func cel(expr string) map[string]any { return map[string]any{"cel": expr} }

func system(id string) map[string]any { return map[string]any{"id": id, "name": id} }

func environment(id string, sel any) map[string]any {
	return map[string]any{"id": id, "name": id, "resourceSelector": sel, "metadata": map[string]string{}}
}

func deployment(id string, sel any) map[string]any {
	return map[string]any{"id": id, "name": id, "slug": id, "resourceSelector": sel, "jobAgentConfig": map[string]any{}}
}

func resource(id string, metadata map[string]string) map[string]any {
	return map[string]any{"id": id, "name": id, "identifier": id, "kind": "Cluster", "version": "v1",
		"config": map[string]any{}, "metadata": metadata}
}

func linkD(sys, dep string) map[string]any {
	return map[string]any{"systemId": sys, "deploymentId": dep}
}
func linkE(sys, env string) map[string]any {
	return map[string]any{"systemId": sys, "environmentId": env}
}

// base sets up system s with environment prod (env=prod resources) and
// deployment api (every resource), linked.
func base(h *harness) {
	h.must("system.created", system("s"))
	h.must("environment.created", environment("prod", cel(`resource.metadata["env"] == "prod"`)))
	h.must("deployment.created", deployment("api", cel("true")))
	h.must("system-environment.linked", linkE("s", "prod"))
	h.must("system-deployment.linked", linkD("s", "api"))
}

func TestEngine_Targets(t *testing.T) {
	prod := map[string]string{"env": "prod"}
	dev := map[string]string{"env": "dev"}
	tests := []struct {
		name  string
		steps func(h *harness)
		want  []string
	}{
		{"resource created matching both selectors", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
		}, []string{"r1/prod/api"}},
		{"resource created matching one selector only", func(h *harness) {
			h.must("resource.created", resource("r1", dev))
		}, nil},
		{"resource updated into the environment", func(h *harness) {
			h.must("resource.created", resource("r1", dev))
			h.must("resource.updated", resource("r1", prod))
		}, []string{"r1/prod/api"}},
		{"resource updated out of the environment", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("resource.updated", resource("r1", dev))
		}, nil},
		{"resource deleted", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("resource.created", resource("r2", prod))
			h.must("resource.deleted", resource("r1", prod))
		}, []string{"r2/prod/api"}},
		{"environment selector widened", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("resource.created", resource("r2", dev))
			h.must("environment.updated", environment("prod", cel("true")))
		}, []string{"r1/prod/api", "r2/prod/api"}},
		{"deployment selector removed", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("deployment.updated", deployment("api", nil))
		}, nil},
		{"json selector on a second deployment", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("resource.created", resource("db-1", prod))
			h.must("deployment.created", deployment("db", map[string]any{"json": map[string]any{
				"type": "name", "operator": "starts-with", "value": "db-"}}))
			h.must("system-deployment.linked", linkD("s", "db"))
		}, []string{"r1/prod/api", "db-1/prod/api", "db-1/prod/db"}},
		{"deployment unlinked", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("system-deployment.unlinked", linkD("s", "api"))
		}, nil},
		{"environment moved to another system", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("system.created", system("s2"))
			h.must("system-environment.unlinked", linkE("s", "prod"))
			h.must("system-environment.linked", linkE("s2", "prod"))
		}, nil},
		{"deployment joins the environment's other system", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("system.created", system("s2"))
			h.must("system-environment.linked", linkE("s2", "prod"))
			h.must("system-deployment.unlinked", linkD("s", "api"))
			h.must("system-deployment.linked", linkD("s2", "api"))
		}, []string{"r1/prod/api"}},
		{"system deleted", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("system.deleted", system("s"))
		}, nil},
		{"environment deleted", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("environment.deleted", environment("prod", nil))
		}, nil},
		{"deployment deleted", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("deployment.deleted", deployment("api", nil))
		}, nil},
		{"second environment added", func(h *harness) {
			h.must("resource.created", resource("r1", prod))
			h.must("resource.created", resource("r2", dev))
			h.must("environment.created", environment("dev", cel(`resource.metadata["env"] == "dev"`)))
			h.must("system-environment.linked", linkE("s", "dev"))
		}, []string{"r1/prod/api", "r2/dev/api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			base(h)
			tt.steps(h)
			h.wantTargets(tt.want...)
		})
	}
}

func TestEngine_TargetRemovalCancelsProcessingJobs(t *testing.T) {
	h := newHarness(t)
	base(h)
	h.must("resource.created", resource("r1", map[string]string{"env": "prod"}))
	target := &model.ReleaseTarget{ResourceID: "r1", EnvironmentID: "prod", DeploymentID: "api"}
	ws, _ := h.eng.Workspace(h.ws)
	tx := ws.Store().Begin(context.Background())
	rel := &model.Release{ID: "rel", ReleaseTarget: *target}
	for _, j := range []*model.Job{
		{ID: "running", Status: model.JobInProgress, ReleaseID: "rel", DispatchContext: &model.DispatchContext{Release: rel}},
		{ID: "done", Status: model.JobSuccessful, ReleaseID: "rel", DispatchContext: &model.DispatchContext{Release: rel}},
	} {
		if err := store.Jobs.Upsert(tx, j.ID, j); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	h.must("resource.deleted", resource("r1", nil))
	snap := h.snapshot()
	for id, want := range map[string]string{"running": model.JobCancelled, "done": model.JobSuccessful} {
		j, err := store.Jobs.Get(snap, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != want {
			t.Errorf("job %s: want %s, got %s", id, want, j.Status)
		}
	}
}

func TestEngine_Apply_BadInputChangesNothing(t *testing.T) {
	tests := []struct {
		name      string
		eventType string
		data      any
		wantCode  string
	}{
		{"unknown event type", "no-such.event", map[string]any{}, model.EINVALID},
		{"missing id", "resource.created", map[string]any{"name": "x", "identifier": "x"}, model.EINVALID},
		{"selector does not compile", "environment.created", environment("broken", cel("resource.name ===")), model.EINVALID},
		{"link to a missing deployment", "system-deployment.linked", linkD("s", "nope"), model.EINVALID},
		{"link to a missing system", "system-environment.linked", linkE("nope", "prod"), model.EINVALID},
		{"duplicate identifier", "resource.created", map[string]any{"id": "other", "name": "x", "identifier": "r1"}, model.ECONFLICT},
		{"wrong type for a field", "resource.created", map[string]any{"id": "x", "name": "x", "identifier": "x", "metadata": 3}, model.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			base(h)
			h.must("resource.created", resource("r1", map[string]string{"env": "prod"}))
			before := store.ReleaseTargets.Count(h.snapshot())
			envs := store.Environments.Count(h.snapshot())
			err := h.apply(tt.eventType, tt.data)
			if got := model.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("want code %q, got %q (%v)", tt.wantCode, got, err)
			}
			if store.ReleaseTargets.Count(h.snapshot()) != before || store.Environments.Count(h.snapshot()) != envs {
				t.Fatal("a rejected event changed the workspace")
			}
		})
	}
}

// TestEngine_Targets_MatchFullRecompute applies random changes and checks
// after each one that the incrementally kept targets equal the definition:
// (d, e, r) such that d and e share a system and both select r.
func TestEngine_Targets_MatchFullRecompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := newHarness(t)
	selectors := []any{cel("true"), cel(`resource.metadata["env"] == "prod"`), cel(`resource.metadata["tier"] == "web"`), nil,
		map[string]any{"json": map[string]any{"type": "metadata", "key": "env", "operator": "equals", "value": "dev"}}}
	metas := []map[string]string{{"env": "prod"}, {"env": "dev"}, {"env": "prod", "tier": "web"}, {}}
	pick := func(n int, prefix string) string { return fmt.Sprintf("%s%d", prefix, rng.IntN(n)) }
	for i := range 3 {
		h.must("system.created", system(fmt.Sprint("s", i)))
	}
	for step := range 400 {
		var err error
		switch rng.IntN(8) {
		case 0:
			err = h.apply("environment.created", environment(pick(4, "e"), selectors[rng.IntN(len(selectors))]))
		case 1:
			err = h.apply("deployment.created", deployment(pick(4, "d"), selectors[rng.IntN(len(selectors))]))
		case 2, 3:
			err = h.apply("resource.created", resource(pick(12, "r"), metas[rng.IntN(len(metas))]))
		case 4:
			err = h.apply("resource.deleted", map[string]any{"id": pick(12, "r")})
		case 5:
			ev := "system-environment.linked"
			if rng.IntN(2) == 0 {
				ev = "system-environment.unlinked"
			}
			err = h.apply(ev, linkE(pick(3, "s"), pick(4, "e")))
		case 6:
			ev := "system-deployment.linked"
			if rng.IntN(2) == 0 {
				ev = "system-deployment.unlinked"
			}
			err = h.apply(ev, linkD(pick(3, "s"), pick(4, "d")))
		case 7:
			kind := []string{"environment", "deployment"}[rng.IntN(2)]
			err = h.apply(kind+".deleted", map[string]any{"id": pick(4, kind[:1])})
		}
		if err != nil && model.ErrorCode(err) != model.EINVALID {
			t.Fatalf("step %d: %v", step, err)
		}
		if got, want := h.targets(), recompute(t, h.snapshot()); !slices.Equal(got, want) {
			t.Fatalf("step %d: targets differ from a full recompute:\n got  %v\n want %v", step, got, want)
		}
	}
}

func recompute(t *testing.T, snap store.Snapshot) []string {
	sharesSystem := func(envID, depID string) bool {
		for _, el := range store.EnvironmentLinksByEnvironment.Get(snap, envID) {
			for _, dl := range store.DeploymentLinksByDeployment.Get(snap, depID) {
				if el.SystemID == dl.SystemID {
					return true
				}
			}
		}
		return false
	}
	var out []string
	for _, e := range store.Environments.Items(snap) {
		em, err := selector.ResourceEnv().Compile(e.ResourceSelector)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range store.Deployments.Items(snap) {
			if !sharesSystem(e.ID, d.ID) {
				continue
			}
			dm, err := selector.ResourceEnv().Compile(d.ResourceSelector)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range store.Resources.Items(snap) {
				vars := map[string]any{"resource": resourceVars(r)}
				if em.Match(vars) && dm.Match(vars) {
					out = append(out, r.ID+"/"+e.ID+"/"+d.ID)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
