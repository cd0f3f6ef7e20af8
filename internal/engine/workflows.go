package engine

import (
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// createWorkflowRun handles workflow-run.created: the run's inputs get the
// workflow's defaults, then every job template whose `if` holds over the
// inputs becomes a workflow job with one pending job on the template's
// agent (config: the agent's, then the template's).
func createWorkflowRun(u *unit, data json.RawMessage) error {
	run, err := decode[model.WorkflowRun](data, "workflowRun")
	if err != nil {
		return err
	}
	wf, err := store.Workflows.Get(u.tx, run.WorkflowID)
	if err != nil {
		return model.Invalid("workflowRun.workflowId", "workflow %q does not exist", run.WorkflowID)
	}
	if run.Inputs == nil {
		run.Inputs = map[string]any{}
	}
	for _, in := range wf.Inputs {
		key, _ := in["key"].(string)
		if def, ok := in["default"]; ok && key != "" {
			if _, given := run.Inputs[key]; !given {
				run.Inputs[key] = def
			}
		}
	}
	if err := store.WorkflowRuns.Upsert(u.tx, run.ID, run); err != nil {
		return err
	}
	vars := map[string]any{"inputs": run.Inputs}
	for i, tmpl := range wf.Jobs {
		if tmpl.If != "" {
			m, err := workflowEnv.CompileCEL(tmpl.If)
			if err != nil {
				return model.Invalid("workflow.jobs["+strconv.Itoa(i)+"].if", "%v", err)
			}
			if !m.Match(vars) {
				continue
			}
		}
		if err := u.startWorkflowJob(wf, run, i, &tmpl); err != nil {
			return err
		}
	}
	return nil
}

func (u *unit) startWorkflowJob(wf *model.Workflow, run *model.WorkflowRun, index int, tmpl *model.WorkflowJobTemplate) error {
	wj := &model.WorkflowJob{ID: uuid.NewString(), WorkflowRunID: run.ID, Index: index, Ref: tmpl.Ref, Config: tmpl.Config}
	if wj.Config == nil {
		wj.Config = map[string]any{}
	}
	if err := store.WorkflowJobs.Upsert(u.tx, wj.ID, wj); err != nil {
		return err
	}
	now := u.tx.Now()
	j := &model.Job{ID: uuid.NewString(), WorkflowJobID: wj.ID, JobAgentID: tmpl.Ref, Status: model.JobPending,
		Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
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
		Workflow: wf, WorkflowJob: wj, WorkflowRun: run}
	return store.Jobs.Upsert(u.tx, j.ID, j)
}
