package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// runJobs returns a run's jobs with their workflow jobs, ordered by the
// rendered config's "target" (or the job id).
type runJob struct {
	job *model.Job
	wj  *model.WorkflowJob
	cfg map[string]any // the job's config rendered as at dispatch
}

func (h *harness) runJobs(runID string) []runJob {
	h.t.Helper()
	snap := h.snapshot()
	var out []runJob
	for _, wj := range store.WorkflowJobsByRun.Get(snap, runID) {
		for _, j := range store.JobsByWorkflowJob.Get(snap, wj.ID) {
			cfg, err := templating.Render(j.JobAgentConfig, templating.FromContext(j.ID, j.DispatchContext, map[string]any{}))
			if err != nil {
				h.t.Fatalf("render job %s: %v", j.ID, err)
			}
			out = append(out, runJob{job: j, wj: wj, cfg: cfg})
		}
	}
	slices.SortFunc(out, func(a, b runJob) int {
		ta, _ := a.cfg["target"].(string)
		tb, _ := b.cfg["target"].(string)
		return strings.Compare(ta+a.job.ID, tb+b.job.ID)
	})
	return out
}

func targetsOf(jobs []runJob) []string {
	out := []string{}
	for _, j := range jobs {
		s, _ := j.cfg["target"].(string)
		out = append(out, s)
	}
	return out
}

func workflowOf(id string, inputs []any, jobs ...map[string]any) map[string]any {
	if inputs == nil {
		inputs = []any{}
	}
	js := make([]any, len(jobs))
	for i, j := range jobs {
		js[i] = j
	}
	return map[string]any{"id": id, "name": id, "inputs": inputs, "jobs": js}
}

func templateOf(id string, config map[string]any, matrix map[string]any, cond string) map[string]any {
	t := map[string]any{"id": id, "name": id, "ref": "runner", "config": config}
	if matrix != nil {
		t["matrix"] = matrix
	}
	if cond != "" {
		t["if"] = cond
	}
	return t
}

func TestEngine_WorkflowMatrix(t *testing.T) {
	target := map[string]any{"target": "{{.Matrix.region}}-{{.Matrix.tier}}"}
	tests := []struct {
		name   string
		matrix map[string]any
		cond   string
		inputs map[string]any
		want   []string
	}{
		{"every combination is a job", map[string]any{"region": []any{"eu", "us"}, "tier": []any{"a", "b"}}, "", nil,
			[]string{"eu-a", "eu-b", "us-a", "us-b"}},
		{"if sees the cell", map[string]any{"region": []any{"eu", "us"}, "tier": []any{"a", "b"}}, `matrix.region == "eu"`, nil,
			[]string{"eu-a", "eu-b"}},
		{"a key may take an input's list", map[string]any{"region": "regions", "tier": []any{"a"}}, "",
			map[string]any{"regions": []any{"ap", "eu"}}, []string{"ap-a", "eu-a"}},
		{"an empty list makes no job", map[string]any{"region": []any{}, "tier": []any{"a"}}, "", nil, []string{}},
		{"objects are values too", map[string]any{"region": []any{map[string]any{"name": "eu"}}, "tier": []any{"a"}}, "", nil,
			[]string{"map[name:eu]-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.must("job-agent.created", jobAgent("runner", map[string]any{}))
			h.must("workflow.created", workflowOf("wf", []any{map[string]any{"key": "regions", "type": "array", "default": []any{}}},
				templateOf("deploy", target, tt.matrix, tt.cond)))
			inputs := tt.inputs
			if inputs == nil {
				inputs = map[string]any{}
			}
			h.must("workflow-run.created", map[string]any{"id": "run-1", "workflowId": "wf", "inputs": inputs})
			jobs := h.runJobs("run-1")
			if got := targetsOf(jobs); !slices.Equal(got, tt.want) {
				t.Fatalf("targets %v, want %v", got, tt.want)
			}
			for _, j := range jobs {
				if j.job.Status != model.JobPending || j.wj.Matrix["tier"] == nil || j.job.DispatchContext.WorkflowJob.ID != j.wj.ID {
					t.Errorf("job %s: status %s, cell %v", j.job.ID, j.job.Status, j.wj.Matrix)
				}
			}
		})
	}
}

// TestEngine_WorkflowIDs: workflow job and job ids derive from the run, the
// template and the cell; a run id is used once.
func TestEngine_WorkflowIDs(t *testing.T) {
	ids := func(runID string) []string {
		h := newHarness(t)
		h.must("job-agent.created", jobAgent("runner", map[string]any{}))
		h.must("workflow.created", workflowOf("wf", nil,
			templateOf("deploy", map[string]any{"target": "{{.Matrix.region}}"}, map[string]any{"region": []any{"eu", "us"}}, "")))
		h.must("workflow-run.created", map[string]any{"id": runID, "workflowId": "wf", "inputs": map[string]any{}})
		var out []string
		for _, j := range h.runJobs(runID) {
			out = append(out, j.wj.ID, j.job.ID)
		}
		err := h.apply("workflow-run.created", map[string]any{"id": runID, "workflowId": "wf", "inputs": map[string]any{}})
		if model.ErrorCode(err) != model.ECONFLICT {
			t.Fatalf("a run id used again: want a conflict, got %v", err)
		}
		if n := len(h.runJobs(runID)); n != 2 {
			t.Fatalf("after the refused rerun: %d jobs, want 2", n)
		}
		return out
	}
	first, again, other := ids("run-1"), ids("run-1"), ids("run-2")
	if !slices.Equal(first, again) {
		t.Errorf("the same run in another workspace made other ids: %v, %v", first, again)
	}
	for _, id := range other {
		if slices.Contains(first, id) {
			t.Errorf("runs 1 and 2 share the id %s", id)
		}
	}
}

// TestEngine_WorkflowResourceFanOut: a template whose matrix takes a
// resource-selector input runs once per matching resource, for that
// resource, with config agent ← template ← the resource's config.
func TestEngine_WorkflowResourceFanOut(t *testing.T) {
	selectorInputs := map[string]any{
		"gatehouse form": map[string]any{"key": "targets", "type": "resource-selector",
			"default": map[string]any{"cel": `resource.metadata["team"] == "a"`}},
		"ctrlplane form": map[string]any{"key": "targets", "type": "array",
			"selector": map[string]any{"entityType": "resource", "default": map[string]any{"cel": `resource.metadata["team"] == "a"`}}},
	}
	for name, input := range selectorInputs {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.must("job-agent.created", jobAgent("runner", map[string]any{"image": "base", "cluster": "agent"}))
			for _, r := range []struct{ id, team, cluster string }{{"r1", "a", "c1"}, {"r2", "a", "c2"}, {"r3", "b", "c3"}} {
				res := resource(r.id, map[string]string{"team": r.team})
				res["config"] = map[string]any{"cluster": r.cluster}
				h.must("resource.created", res)
			}
			h.must("workflow.created", workflowOf("wf", []any{input}, templateOf("restart",
				map[string]any{"target": "{{.Resource.Name}}", "cluster": "template", "namespace": "ops", "via": "{{.Matrix.node.identifier}}"},
				map[string]any{"node": "targets"}, "")))

			h.must("workflow-run.created", map[string]any{"id": "run-1", "workflowId": "wf", "inputs": map[string]any{}})
			jobs := h.runJobs("run-1")
			if got := targetsOf(jobs); !slices.Equal(got, []string{"r1", "r2"}) {
				t.Fatalf("jobs for %v, want r1 and r2", got)
			}
			for i, j := range jobs {
				want := map[string]any{"target": []string{"r1", "r2"}[i], "cluster": []string{"c1", "c2"}[i], "namespace": "ops",
					"image": "base", "via": []string{"r1", "r2"}[i]}
				for k, v := range want {
					if j.cfg[k] != v {
						t.Errorf("job for %s: config %s = %v, want %v (config %v)", want["target"], k, j.cfg[k], v, j.cfg)
					}
				}
				if j.wj.ResourceID != want["target"] || j.job.DispatchContext.Resource == nil || j.job.DispatchContext.Resource.ID != want["target"] {
					t.Errorf("job for %s: workflow job resource %q, dispatch context %+v", want["target"], j.wj.ResourceID, j.job.DispatchContext.Resource)
				}
			}

			// A run names its own selector, as CEL text.
			h.must("workflow-run.created", map[string]any{"id": "run-2", "workflowId": "wf",
				"inputs": map[string]any{"targets": `resource.metadata["team"] == "b"`}})
			if got := targetsOf(h.runJobs("run-2")); !slices.Equal(got, []string{"r3"}) {
				t.Fatalf("run-2 jobs for %v, want r3", got)
			}
			run, _ := store.WorkflowRuns.Get(h.snapshot(), "run-1")
			if _, kept := run.Inputs["targets"].(map[string]any); !kept {
				t.Errorf("run-1 keeps inputs %v, want the default selector as given", run.Inputs)
			}
		})
	}
}

func TestEngine_WorkflowSlug(t *testing.T) {
	h := newHarness(t)
	h.must("job-agent.created", jobAgent("runner", map[string]any{}))
	wf := workflowOf("wf", nil, templateOf("one", map[string]any{"target": "x"}, nil, ""))
	wf["slug"] = "restart"
	h.must("workflow.created", wf)
	h.must("workflow-run.created", map[string]any{"id": "run-1", "workflowSlug": "restart", "inputs": map[string]any{}})
	run, err := store.WorkflowRuns.Get(h.snapshot(), "run-1")
	if err != nil || run.WorkflowID != "wf" || run.WorkflowSlug != "restart" {
		t.Fatalf("run by slug: %+v, %v", run, err)
	}
	if n := len(h.runJobs("run-1")); n != 1 {
		t.Fatalf("run by slug made %d jobs, want 1", n)
	}
	other := workflowOf("wf2", nil)
	other["slug"] = "restart"
	if err := h.apply("workflow.created", other); model.ErrorCode(err) != model.ECONFLICT || !strings.Contains(err.Error(), "workflow.slug") {
		t.Fatalf("a second workflow with the slug: want a conflict, got %v", err)
	}
	for _, tt := range []struct {
		run   map[string]any
		field string
	}{
		{map[string]any{"id": "r2", "workflowSlug": "nope"}, "workflowRun.workflowSlug"},
		{map[string]any{"id": "r2", "workflowSlug": "restart", "workflowId": "other"}, "workflowRun.workflowId"},
		{map[string]any{"id": "r2"}, "workflowRun.workflowId"},
	} {
		err := h.apply("workflow-run.created", tt.run)
		if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("run %v: want EINVALID naming %s, got %v", tt.run, tt.field, err)
		}
	}
}

func TestEngine_WorkflowRefused(t *testing.T) {
	selectorInput := map[string]any{"key": "targets", "type": "resource-selector", "default": map[string]any{"cel": "true"}}
	tests := []struct {
		name     string
		workflow map[string]any
		field    string
	}{
		{"a matrix key naming no input", workflowOf("wf", nil, templateOf("t", nil, map[string]any{"region": "regions"}, "")),
			"workflow.jobs[0].matrix.region"},
		{"a matrix value that is neither", workflowOf("wf", nil, templateOf("t", nil, map[string]any{"region": 3}, "")),
			"workflow.jobs[0].matrix.region"},
		{"a value listed twice", workflowOf("wf", nil, templateOf("t", nil, map[string]any{"region": []any{"eu", "eu"}}, "")),
			"workflow.jobs[0].matrix.region"},
		{"two keys over resources", workflowOf("wf", []any{selectorInput, map[string]any{"key": "more", "type": "resource-selector"}},
			templateOf("t", nil, map[string]any{"a": "targets", "b": "more"}, "")), "workflow.jobs[0].matrix.b"},
		{"more jobs than a run makes", workflowOf("wf", nil, templateOf("t", nil, map[string]any{
			"a": make([]any, 0), "b": func() []any {
				out := make([]any, 1001)
				for i := range out {
					out[i] = i
				}
				return out
			}()}, "")), "workflow.jobs[0].matrix"},
		{"a config template naming a missing field", workflowOf("wf", nil, templateOf("t", map[string]any{"x": "{{.Matrx.a}}"}, nil, "")),
			"workflow.jobs[0].config.x"},
		{"an if over a field inputs cannot have", workflowOf("wf", nil, templateOf("t", nil, nil, "inputs.a ==")), "workflow.jobs[0].if"},
		{"a selector default that does not compile", workflowOf("wf", []any{map[string]any{"key": "targets", "type": "resource-selector",
			"default": map[string]any{"cel": "resource.nmae == 'x'"}}}), "workflow.inputs[0].default"},
		{"a selector of another entity type", workflowOf("wf", []any{map[string]any{"key": "targets", "type": "array",
			"selector": map[string]any{"entityType": "job"}}}), "workflow.inputs[0].selector.entityType"},
		{"an input without a key", workflowOf("wf", []any{map[string]any{"type": "string"}}), "workflow.inputs[0].key"},
		{"an input key twice", workflowOf("wf", []any{map[string]any{"key": "a"}, map[string]any{"key": "a"}}), "workflow.inputs[1].key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			err := h.apply("workflow.created", tt.workflow)
			if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("want EINVALID naming %s, got %v", tt.field, err)
			}
			if _, exists := h.eng.Workspace(h.ws); exists && store.Workflows.Count(h.snapshot()) != 0 {
				t.Fatal("a refused workflow was stored")
			}
		})
	}
}

func TestEngine_WorkflowRunRefused(t *testing.T) {
	h := newHarness(t)
	h.must("job-agent.created", jobAgent("runner", map[string]any{}))
	h.must("workflow.created", workflowOf("wf", []any{
		map[string]any{"key": "targets", "type": "resource-selector"},
		map[string]any{"key": "regions", "type": "array"},
	}, templateOf("t", nil, map[string]any{"node": "targets", "region": "regions"}, "")))
	tests := []struct {
		name   string
		inputs map[string]any
		field  string
	}{
		{"a selector input with neither value nor default", map[string]any{"regions": []any{"eu"}}, "workflowRun.inputs.targets"},
		{"a selector that does not compile", map[string]any{"targets": "resource.nmae == 'x'", "regions": []any{"eu"}}, "workflowRun.inputs.targets"},
		{"a matrix input that is not a list", map[string]any{"targets": "true", "regions": "eu"}, "workflowRun.inputs.regions"},
		{"a matrix input listing a value twice", map[string]any{"targets": "true", "regions": []any{"eu", "eu"}}, "workflow.jobs[0].matrix.region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.apply("workflow-run.created", map[string]any{"id": "run", "workflowId": "wf", "inputs": tt.inputs})
			if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("want EINVALID naming %s, got %v", tt.field, err)
			}
			if store.WorkflowRuns.Has(h.snapshot(), "run") {
				t.Fatal("a refused run was stored")
			}
		})
	}
	t.Run("more jobs than a run makes", func(t *testing.T) {
		many := make([]any, 40)
		for i := range many {
			many[i] = i
		}
		h.must("workflow.created", workflowOf("big", []any{map[string]any{"key": "a", "type": "array"}},
			templateOf("t", nil, map[string]any{"x": "a", "y": "a"}, "")))
		err := h.apply("workflow-run.created", map[string]any{"id": "run", "workflowId": "big", "inputs": map[string]any{"a": many}})
		if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), "more than 1000 jobs") {
			t.Fatalf("want EINVALID saying so, got %v", err)
		}
	})
}
