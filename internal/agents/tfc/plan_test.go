package tfc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

func planWith(t *testing.T, srv *tfcServer, in agents.PlanInput) (agents.PlanOutput, error) {
	t.Helper()
	typ := New(Options{PlanPollInterval: time.Millisecond})
	return typ.Planner.Plan(context.Background(), in)
}

// proposed is a job's config as a plan renders it: the token sealed.
func proposed(srv *tfcServer, vars map[string]any) map[string]any {
	return srv.config(func(c map[string]any) {
		c["token"] = map[string]any{"sensitive": map[string]any{"valueHash": "0f3a"}}
		c["variables"] = vars
	})
}

// A plan makes a speculative run with the job's Terraform variables as run
// variables, reads its plan, and changes nothing of the workspace.
func TestPlan_SpeculativeRun(t *testing.T) {
	srv := newTFCServer(t)
	srv.addWorkspace("acme", "api-prod")
	srv.planned = [3]int{1, 2, 0}
	current := proposed(srv, map[string]any{"image_tag": "v1.3.0"})
	out, err := planWith(t, srv, agents.PlanInput{WorkspaceID: "ws",
		Proposed:    proposed(srv, map[string]any{"image_tag": "v1.4.0", "zones": []any{"a"}, "TF_LOG": map[string]any{"value": "info", "category": "env"}}),
		Current:     current,
		Credentials: map[string]string{"token": srv.token}})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	runs := srv.sent("POST /api/v2/runs")
	if len(runs) != 1 {
		t.Fatalf("want one run created, got %d", len(runs))
	}
	attrs := attributes(runs[0].body)
	if attrs["plan-only"] != true {
		t.Errorf("the run is not plan-only: %v", attrs)
	}
	vars, _ := attrs["variables"].([]any)
	var sent []string
	for _, v := range vars {
		m, _ := v.(map[string]any)
		sent = append(sent, m["key"].(string)+"="+m["value"].(string))
	}
	if want := []string{`image_tag="v1.4.0"`, `zones=["a"]`}; !slices.Equal(sent, want) {
		t.Errorf("run variables %q, want %q", sent, want)
	}
	if n := len(srv.sent("POST /api/v2/workspaces/ws-0001/vars")) + len(srv.sent("PATCH /api/v2/workspaces/{id}/vars/{varID}")); n != 0 {
		t.Errorf("the plan changed %d workspace variables", n)
	}
	for _, want := range []string{`image_tag = "v1.4.0"`, "plan: 1 to add, 2 to change, 0 to destroy"} {
		if !strings.Contains(out.Proposed, want) {
			t.Errorf("proposed document lacks %q:\n%s", want, out.Proposed)
		}
	}
	if !strings.Contains(out.Current, `image_tag = "v1.3.0"`) || !strings.Contains(out.Current, "plan: 0 to add, 0 to change, 0 to destroy") {
		t.Errorf("current document:\n%s", out.Current)
	}
	if !strings.Contains(out.Message, "1 to add, 2 to change, 0 to destroy") || !strings.Contains(out.Message, "TF_LOG (environment variable)") {
		t.Errorf("message %q does not give the counts and what was not sent", out.Message)
	}
	if strings.Contains(out.Proposed+out.Current+out.Message, srv.token) {
		t.Error("the plan's output holds the token")
	}
}

// Without the token opened no run can be made: unsupported. A workspace
// that does not exist yet has no run to plan; a run that errors makes the
// result errored.
func TestPlan_WithoutARun(t *testing.T) {
	srv := newTFCServer(t)
	_, err := planWith(t, srv, agents.PlanInput{Proposed: proposed(srv, nil)})
	if !errors.Is(err, agents.ErrPlanUnsupported) {
		t.Errorf("without the token: %v, want unsupported", err)
	}
	out, err := planWith(t, srv, agents.PlanInput{Proposed: proposed(srv, nil), Credentials: map[string]string{"token": srv.token}})
	if err != nil || !strings.Contains(out.Message, "does not exist yet") || srv.runCount() != 0 {
		t.Errorf("a missing workspace: %+v, %v (%d runs)", out, err, srv.runCount())
	}
	if n := len(srv.sent("POST /api/v2/organizations/acme/workspaces")); n != 0 {
		t.Errorf("the plan created the workspace")
	}
	srv.addWorkspace("acme", "api-prod")
	srv.failOn("GET /api/v2/plans/{id}", tfFailure{status: 500, errors: []map[string]any{apiError("500", "internal", "boom")}})
	if _, err := planWith(t, srv, agents.PlanInput{Proposed: proposed(srv, nil), Credentials: map[string]string{"token": srv.token}}); err == nil {
		t.Error("a plan that cannot be read gave no error")
	}
}
