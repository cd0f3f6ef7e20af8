package model

// WorkflowJobTemplate is one job of a workflow, run on agent Ref when its If
// expression (CEL over inputs and matrix) holds: once, or once per cell of
// its Matrix.
type WorkflowJobTemplate struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Ref        string         `json:"ref"`
	Config     map[string]any `json:"config"`
	WorkflowID string         `json:"workflowId"`
	If         string         `json:"if,omitempty"`
	// Matrix maps a key to a list of values, or to the key of an input
	// whose value is a list (a selector input's matching entities); each
	// combination of one value per key is one workflow job.
	Matrix map[string]any `json:"matrix,omitempty"`
}

// Workflow is a parameterised set of jobs run on demand.
type Workflow struct {
	ID string `json:"id"`
	// Slug names the workflow for runs (workflowSlug); unique when set.
	Slug   string                `json:"slug,omitempty"`
	Name   string                `json:"name"`
	Inputs []map[string]any      `json:"inputs"`
	Jobs   []WorkflowJobTemplate `json:"jobs"`
}

// WorkflowRun is one run of a workflow with its inputs.
type WorkflowRun struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflowId"`
	// WorkflowSlug names the workflow instead of WorkflowID when a run is
	// created; the run then records both.
	WorkflowSlug string         `json:"workflowSlug,omitempty"`
	Inputs       map[string]any `json:"inputs"`
}

// WorkflowJob is the instance of a job template within a run: one per
// matrix cell.
type WorkflowJob struct {
	ID            string         `json:"id"`
	WorkflowRunID string         `json:"workflowRunId"`
	Index         int            `json:"index"`
	Ref           string         `json:"ref"`
	Config        map[string]any `json:"config"`
	// Matrix is the cell of the template's matrix this job runs for: one
	// value per matrix key ({{.Matrix.key}} in its config).
	Matrix map[string]any `json:"matrix,omitempty"`
	// ResourceID is the resource the job runs for, when its cell took one
	// from a resource-selector input.
	ResourceID string `json:"resourceId,omitempty"`
}
