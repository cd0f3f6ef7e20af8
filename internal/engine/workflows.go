package engine

import (
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// createWorkflowRun handles workflow-run.created: the workflow named by id
// or slug runs with its inputs, defaults filled and selector inputs
// resolved; every job template gives one workflow job per cell of its
// matrix (one when it has none) for which its `if` holds over the inputs
// and the cell, each with one pending job on the template's agent. The
// ids of both derive from the run, the template and the cell, so a run
// decided twice makes the same jobs; a run id already used is refused.
func createWorkflowRun(u *unit, data json.RawMessage) error {
	run, err := decodeKey[model.WorkflowRun](data, "workflowRun")
	if err != nil {
		return err
	}
	wf, err := runWorkflow(u.tx, run)
	if err != nil {
		return err
	}
	if err := run.Validate(); err != nil {
		return err
	}
	if store.WorkflowRuns.Has(u.tx, run.ID) {
		return model.Errorf(model.ECONFLICT, "workflowRun.id: run %q exists already; a new run needs a new id", run.ID)
	}
	inputs, err := workflowInputs(wf)
	if err != nil {
		return err
	}
	if run.Inputs == nil {
		run.Inputs = map[string]any{}
	}
	resolved, err := resolveInputs(u.tx, inputs, run)
	if err != nil {
		return err
	}
	if err := store.WorkflowRuns.Upsert(u.tx, run.ID, run); err != nil {
		return err
	}
	made := 0
	for i := range wf.Jobs {
		tmpl := &wf.Jobs[i]
		field := "workflow.jobs[" + strconv.Itoa(i) + "]"
		cond, err := workflowEnv.CompileCEL(tmpl.If)
		if err != nil {
			return model.Invalid(field+".if", "%v", err)
		}
		cells, err := matrixCells(field+".matrix", tmpl.Matrix, resolved)
		if err != nil {
			return err
		}
		for _, cell := range cells {
			if tmpl.If != "" && !cond.Match(map[string]any{"inputs": resolved.values, "matrix": cell.values}) {
				continue
			}
			if made++; made > maxWorkflowJobs {
				return model.Invalid("workflowRun", "would make more than %d jobs", maxWorkflowJobs)
			}
			if err := u.startWorkflowJob(wf, run, i, tmpl, cell); err != nil {
				return err
			}
		}
	}
	return nil
}

// runWorkflow returns the workflow a run names, by id or by slug (then
// recorded on the run); both given must name the same one.
func runWorkflow(r store.Reader, run *model.WorkflowRun) (*model.Workflow, error) {
	if run.WorkflowSlug == "" {
		wf, err := store.Workflows.Get(r, run.WorkflowID)
		if err != nil {
			if run.WorkflowID == "" {
				return nil, model.Invalid("workflowRun.workflowId", "is required (or workflowSlug)")
			}
			return nil, model.Invalid("workflowRun.workflowId", "workflow %q does not exist", run.WorkflowID)
		}
		return wf, nil
	}
	wf := workflowBySlug(r, run.WorkflowSlug)
	switch {
	case wf == nil:
		return nil, model.Invalid("workflowRun.workflowSlug", "no workflow has slug %q", run.WorkflowSlug)
	case run.WorkflowID != "" && run.WorkflowID != wf.ID:
		return nil, model.Invalid("workflowRun.workflowId", "%q is not workflow %q, whose id is %q",
			run.WorkflowID, run.WorkflowSlug, wf.ID)
	}
	run.WorkflowID = wf.ID
	return wf, nil
}

// workflowBySlug returns the workflow with the slug, or nil.
func workflowBySlug(r store.Reader, slug string) *model.Workflow {
	for _, w := range store.Workflows.Items(r) {
		if w.Slug == slug {
			return w
		}
	}
	return nil
}

// Namespaces of the UUIDv5 ids of workflow jobs and their jobs.
var (
	workflowJobNamespace = uuid.MustParse("3b0f7d52-9e61-4c1a-a8d4-5f2e6c9b1a70")
	workflowRunJobNS     = uuid.MustParse("b6a3e1d0-2c4f-4e8b-9a17-0d5c3f8e2b61")
)

// workflowJobID derives a workflow job's id from its run, its template (by
// position and id) and its matrix cell.
func workflowJobID(runID string, index int, tmpl *model.WorkflowJobTemplate, cell matrixCell) string {
	template := strconv.Itoa(index) + "/" + tmpl.ID
	return uuid.NewSHA1(workflowJobNamespace, []byte(runID+"\x00"+template+"\x00"+cell.key)).String()
}

// startWorkflowJob makes the workflow job of one cell and its job: config
// agent ← template ← the cell's resource's config, and the resource in the
// job's dispatch context. A template naming a missing agent gets an
// invalidJobAgent job saying so.
func (u *unit) startWorkflowJob(wf *model.Workflow, run *model.WorkflowRun, index int, tmpl *model.WorkflowJobTemplate,
	cell matrixCell) error {
	wj := &model.WorkflowJob{ID: workflowJobID(run.ID, index, tmpl, cell), WorkflowRunID: run.ID, Index: index, Ref: tmpl.Ref}
	var resource *model.Resource
	if cell.resource != nil {
		r := *cell.resource
		resource, wj.ResourceID = &r, r.ID
		wj.Config = mergeConfig(tmpl.Config, r.Config)
	} else {
		wj.Config = mergeConfig(tmpl.Config)
	}
	if len(cell.values) > 0 {
		wj.Matrix = cell.values
	}
	if err := store.WorkflowJobs.Upsert(u.tx, wj.ID, wj); err != nil {
		return err
	}
	now := u.tx.Now()
	j := &model.Job{ID: uuid.NewSHA1(workflowRunJobNS, []byte(wj.ID+"\x00"+tmpl.Ref)).String(), WorkflowJobID: wj.ID,
		JobAgentID: tmpl.Ref, Status: model.JobPending, Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	agent, err := store.JobAgents.Get(u.tx, tmpl.Ref)
	if err != nil {
		j.Status = model.JobInvalidJobAgent
		j.Message = "job agent " + tmpl.Ref + " does not exist"
		j.CompletedAt = now
		j.JobAgentConfig = wj.Config
		agent = &model.JobAgent{ID: tmpl.Ref}
	} else {
		j.JobAgentConfig = mergeConfig(agent.Config, wj.Config)
	}
	j.DispatchContext = &model.DispatchContext{JobAgent: *agent, JobAgentConfig: j.JobAgentConfig,
		Resource: resource, Workflow: wf, WorkflowJob: wj, WorkflowRun: run}
	return store.Jobs.Upsert(u.tx, j.ID, j)
}

// checkWorkflow validates a workflow before it is written: a slug used by
// another workflow is a conflict; inputs, `if` expressions, matrices and
// config templates must be sound (400 naming the field).
func (u *unit) checkWorkflow(w *model.Workflow) error {
	if w.Slug != "" {
		if other := workflowBySlug(u.tx, w.Slug); other != nil && other.ID != w.ID {
			return model.Errorf(model.ECONFLICT, "workflow.slug: %q is already used by workflow %s", w.Slug, other.ID)
		}
	}
	inputs, err := workflowInputs(w)
	if err != nil {
		return err
	}
	for i := range w.Jobs {
		j := &w.Jobs[i]
		field := "workflow.jobs[" + strconv.Itoa(i) + "]"
		if j.WorkflowID == "" {
			j.WorkflowID = w.ID
		}
		if j.If != "" {
			if err := checkCEL(field+".if", j.If, workflowEnv); err != nil {
				return err
			}
		}
		if err := checkMatrix(field+".matrix", j.Matrix, inputs); err != nil {
			return err
		}
		if err := templating.Validate(field+".config", j.Config); err != nil {
			return err
		}
	}
	return nil
}
