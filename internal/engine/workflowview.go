package engine

import (
	"cmp"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// WorkflowRunView is a run as the read API shows it (ctrlplane's
// WorkflowRunWithJobs): the run with its workflow jobs, each with its jobs.
type WorkflowRunView struct {
	*model.WorkflowRun
	Jobs []WorkflowJobView `json:"jobs"`
}

// WorkflowJobView is a workflow job with the jobs made for it.
type WorkflowJobView struct {
	*model.WorkflowJob
	Jobs []*model.Job `json:"jobs"`
}

// ViewWorkflowRun returns the run with its workflow jobs, by template
// position then id, and their jobs, oldest first.
func ViewWorkflowRun(r store.Reader, run *model.WorkflowRun) WorkflowRunView {
	wjs := store.WorkflowJobsByRun.Get(r, run.ID)
	slices.SortFunc(wjs, func(a, b *model.WorkflowJob) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.ID, b.ID))
	})
	v := WorkflowRunView{WorkflowRun: run, Jobs: make([]WorkflowJobView, len(wjs))}
	for i, wj := range wjs {
		jobs := store.JobsByWorkflowJob.Get(r, wj.ID)
		slices.SortFunc(jobs, func(a, b *model.Job) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		if jobs == nil {
			jobs = []*model.Job{}
		}
		v.Jobs[i] = WorkflowJobView{WorkflowJob: wj, Jobs: jobs}
	}
	return v
}
