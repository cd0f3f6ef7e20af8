package engine

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func TestEngine_WorkflowRun(t *testing.T) {
	h := newHarness(t)
	h.must("job-agent.created", map[string]any{"id": "runner", "name": "runner", "type": "custom",
		"config": map[string]any{"image": "base", "shared": "agent"}})
	h.must("workflow.created", map[string]any{"id": "wf", "name": "release notes",
		"inputs": []any{map[string]any{"key": "env", "type": "string", "default": "staging"},
			map[string]any{"key": "notify", "type": "boolean", "default": false}},
		"jobs": []any{
			map[string]any{"id": "build", "name": "build", "ref": "runner", "config": map[string]any{"shared": "template"}},
			map[string]any{"id": "prod", "name": "prod only", "ref": "runner", "config": map[string]any{}, "if": `inputs.env == "prod"`},
			map[string]any{"id": "notify", "name": "notify", "ref": "missing-agent", "config": map[string]any{}, "if": "inputs.notify"},
		}})

	h.must("workflow-run.created", map[string]any{"id": "run-1", "workflowId": "wf", "inputs": map[string]any{"notify": true}})
	snap := h.snapshot()
	run, err := store.WorkflowRuns.Get(snap, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Inputs["env"] != "staging" || run.Inputs["notify"] != true {
		t.Fatalf("inputs with defaults: %v", run.Inputs)
	}
	wjs := store.WorkflowJobsByRun.Get(snap, "run-1")
	if len(wjs) != 2 {
		t.Fatalf("want 2 workflow jobs (build, notify), got %d", len(wjs))
	}
	statuses := map[string]string{}
	for _, j := range store.Jobs.Items(snap) {
		wj, err := store.WorkflowJobs.Get(snap, j.WorkflowJobID)
		if err != nil {
			t.Fatalf("job %s has no workflow job", j.ID)
		}
		statuses[wj.Ref] = j.Status
		if wj.Ref == "runner" && (j.JobAgentConfig["image"] != "base" || j.JobAgentConfig["shared"] != "template") {
			t.Errorf("config is not agent then template: %v", j.JobAgentConfig)
		}
		if j.DispatchContext == nil || j.DispatchContext.WorkflowRun == nil || j.DispatchContext.WorkflowRun.ID != "run-1" {
			t.Errorf("job %s lacks its workflow run in the dispatch context", j.ID)
		}
	}
	if statuses["runner"] != model.JobPending || statuses["missing-agent"] != model.JobInvalidJobAgent {
		t.Fatalf("job statuses by agent: %v", statuses)
	}

	h.must("workflow-run.created", map[string]any{"id": "run-2", "workflowId": "wf", "inputs": map[string]any{"env": "prod"}})
	if n := len(store.WorkflowJobsByRun.Get(h.snapshot(), "run-2")); n != 2 {
		t.Fatalf("a prod run wants build and prod only, got %d workflow jobs", n)
	}
	if err := h.apply("workflow-run.created", map[string]any{"id": "run-3", "workflowId": "nope"}); model.ErrorCode(err) != model.EINVALID {
		t.Fatalf("a run of a missing workflow: want invalid, got %v", err)
	}
}
