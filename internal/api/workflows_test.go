package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

type runAnswer struct {
	ID           string `json:"id"`
	WorkflowID   string `json:"workflowId"`
	WorkflowSlug string `json:"workflowSlug"`
	Jobs         []struct {
		ID     string         `json:"id"`
		Index  int            `json:"index"`
		Matrix map[string]any `json:"matrix"`
		Jobs   []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"jobs"`
	} `json:"jobs"`
}

// jobIDs are the ids of a run's jobs, by workflow job.
func (a runAnswer) jobIDs() []string {
	var out []string
	for _, wj := range a.Jobs {
		for _, j := range wj.Jobs {
			out = append(out, j.ID)
		}
	}
	slices.Sort(out)
	return out
}

// TestServer_WorkflowRuns: POST …/workflow-runs starts a run by slug and
// answers with its jobs; GET …/workflow-runs/{id} shows the same.
func TestServer_WorkflowRuns(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(
		event("job-agent.created", map[string]any{"id": "runner", "name": "runner", "type": "custom", "config": map[string]any{}}),
		event("workflow.created", map[string]any{"id": "wf", "slug": "rotate-keys", "name": "rotate keys",
			"inputs": []any{map[string]any{"key": "regions", "type": "array", "default": []any{"eu", "us"}}},
			"jobs": []any{map[string]any{"id": "rotate", "name": "rotate", "ref": "runner",
				"config": map[string]any{"region": "{{.Matrix.region}}"}, "matrix": map[string]any{"region": "regions"}}}}),
	)
	path := "/v1/workspaces/" + testWS + "/workflow-runs"
	status, body := ts.do(http.MethodPost, path, `{"workflowSlug": "rotate-keys", "inputs": {}}`)
	if status != http.StatusCreated {
		t.Fatalf("POST workflow-runs: %d %s", status, body)
	}
	var created runAnswer
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.WorkflowID != "wf" || len(created.Jobs) != 2 || len(created.jobIDs()) != 2 {
		t.Fatalf("answer %s: want a new run of wf with two workflow jobs, each with its job", body)
	}
	for _, wj := range created.Jobs {
		if wj.Matrix["region"] == nil || wj.Jobs[0].Status != "pending" {
			t.Errorf("workflow job %+v: want its cell and a pending job", wj)
		}
	}

	var read runAnswer
	if err := json.Unmarshal(mustGet(t, ts, path+"/"+created.ID), &read); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(read.jobIDs(), created.jobIDs()) {
		t.Errorf("GET shows jobs %v, POST answered %v", read.jobIDs(), created.jobIDs())
	}

	for _, tt := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"id": "` + created.ID + `", "workflowId": "wf"}`, http.StatusConflict, ""},
		{`{"workflowSlug": "nope"}`, http.StatusBadRequest, "workflowRun.workflowSlug"},
		{`{"workflowId": "wf", "inptus": {}}`, http.StatusBadRequest, "workflowRun.inptus"},
		{`[]`, http.StatusBadRequest, "body"},
	} {
		status, body := ts.do(http.MethodPost, path, tt.body)
		if status != tt.status {
			t.Errorf("POST %s: %d %s, want %d", tt.body, status, body, tt.status)
			continue
		}
		if e := errorBodyOf(t, body); tt.field != "" && e.Field != tt.field {
			t.Errorf("POST %s: field %q, want %q (%s)", tt.body, e.Field, tt.field, e.Error)
		}
	}
}

func mustGet(t *testing.T, ts *testServer, path string) []byte {
	t.Helper()
	status, body := ts.do(http.MethodGet, path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}
