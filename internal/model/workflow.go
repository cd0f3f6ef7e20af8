package model

// WorkflowJobTemplate is one job of a workflow, run on agent Ref when its If
// expression (CEL over inputs) holds.
type WorkflowJobTemplate struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Ref        string         `json:"ref"`
	Config     map[string]any `json:"config"`
	WorkflowID string         `json:"workflowId"`
	If         string         `json:"if,omitempty"`
	Matrix     map[string]any `json:"matrix,omitempty"`
}

// Workflow is a parameterised set of jobs run on demand.
type Workflow struct {
	ID     string                `json:"id"`
	Name   string                `json:"name"`
	Inputs []map[string]any      `json:"inputs"`
	Jobs   []WorkflowJobTemplate `json:"jobs"`
}

// WorkflowRun is one run of a workflow with its inputs.
type WorkflowRun struct {
	ID         string         `json:"id"`
	WorkflowID string         `json:"workflowId"`
	Inputs     map[string]any `json:"inputs"`
}

// WorkflowJob is the instance of a job template within a run.
type WorkflowJob struct {
	ID            string         `json:"id"`
	WorkflowRunID string         `json:"workflowRunId"`
	Index         int            `json:"index"`
	Ref           string         `json:"ref"`
	Config        map[string]any `json:"config"`
}
