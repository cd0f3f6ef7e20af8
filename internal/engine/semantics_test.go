package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Tests of when a desired release gets a new job (SPEC §5): the retry walk
// without rules, a release desired again, and agent changes.

// TestEngine_DesiredAgain: a release that becomes desired again after
// another release's job gets a new job.
func TestEngine_DesiredAgain(t *testing.T) {
	selector := func(prefix string) map[string]any {
		return policyOf("p", "true", map[string]any{"id": "sel",
			"versionSelector": map[string]any{"selector": cel(`version.tag.startsWith("` + prefix + `")`)}})
	}
	tests := []struct {
		name string
		// steps run after v1 and v2 exist and their jobs succeeded in that
		// order; then the target must want v1 again with a new job.
		setup, back func(h *harness)
	}{
		{"a version selector flipped back",
			func(h *harness) { h.must("policy.created", selector("v1")) },
			func(h *harness) { h.must("policy.updated", selector("v1")) }},
		{"the newest version deleted", nil,
			func(h *harness) { h.must("deployment-version.deleted", version("v2", t0.Add(time.Minute), "")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			if tt.setup != nil {
				tt.setup(h)
			}
			h.must("deployment-version.created", version("v1", t0, ""))
			h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
			if tt.setup != nil {
				h.must("policy.updated", selector("v2"))
			}
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
			h.finish(h.jobsOn(prodKey("r1"))[1].ID, model.JobSuccessful)
			tt.back(h)
			jobs := h.jobsOn(prodKey("r1"))
			wantVersions(t, "after going back", jobs, "v1", "v2", "v1")
			if jobs[2].Status != model.JobPending || jobs[2].ReleaseID != jobs[0].ReleaseID {
				t.Fatalf("the new job is %s for release %s, want pending for %s", jobs[2].Status, jobs[2].ReleaseID, jobs[0].ReleaseID)
			}
			h.must("workspace.tick", map[string]any{})
			if n := len(h.jobsOn(prodKey("r1"))); n != 3 {
				t.Fatalf("re-evaluating made another job: %d jobs", n)
			}
		})
	}

	t.Run("a variable override removed", func(t *testing.T) {
		h := newHarness(t)
		world(h, "r1")
		h.must("deployment-variable.created", deploymentVariable("region", "region", "eu"))
		h.must("deployment-version.created", version("v1", t0, ""))
		first := h.onlyJob(prodKey("r1"))
		h.finish(first.ID, model.JobSuccessful)
		override := map[string]any{"resourceId": "r1", "key": "region", "value": "us"}
		h.must("resource-variable.created", override)
		h.finish(h.jobsOn(prodKey("r1"))[1].ID, model.JobSuccessful)
		h.must("resource-variable.deleted", override)
		jobs := h.jobsOn(prodKey("r1"))
		if len(jobs) != 3 || jobs[2].ReleaseID != first.ReleaseID || jobs[2].Status != model.JobPending {
			t.Fatalf("after removing the override: %d jobs, want a third pending one for the first release", len(jobs))
		}
	})
}

// TestEngine_RetryWalk: a job in a status the rule does not count is no
// attempt; without rules every status counts.
func TestEngine_RetryWalk(t *testing.T) {
	tests := []struct {
		name     string
		policy   map[string]any
		status   string
		wantJobs int
	}{
		{"no rule: a cancelled job ends the release", nil, model.JobCancelled, 1},
		{"no rule: a success ends it", nil, model.JobSuccessful, 1},
		{"maxRetries 0: a cancelled job is no attempt", policyOf("p", "true", map[string]any{"id": "r", "retry": map[string]any{"maxRetries": 0}}), model.JobCancelled, 2},
		{"maxRetries 0: a success counts", policyOf("p", "true", map[string]any{"id": "r", "retry": map[string]any{"maxRetries": 0}}), model.JobSuccessful, 1},
		{"maxRetries 2: a success is deployed", policyOf("p", "true", map[string]any{"id": "r", "retry": map[string]any{"maxRetries": 2}}), model.JobSuccessful, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			if tt.policy != nil {
				h.must("policy.created", tt.policy)
			}
			h.must("deployment-version.created", version("v1", t0, ""))
			h.finish(h.onlyJob(prodKey("r1")).ID, tt.status)
			h.must("resource.updated", resource("r1", map[string]string{"touched": "yes"}))
			if n := len(h.jobsOn(prodKey("r1"))); n != tt.wantJobs {
				t.Fatalf("%d jobs, want %d", n, tt.wantJobs)
			}
		})
	}
}

// TestEngine_AgentChanges: a change to what a target's job would be given
// re-runs the desired release on the agents as they are now.
func TestEngine_AgentChanges(t *testing.T) {
	withAgent := func(h *harness, change func(dep map[string]any)) {
		dep := deployment("api", cel("true"))
		dep["jobAgentId"] = "a"
		change(dep)
		h.must("deployment.updated", dep)
	}
	tests := []struct {
		name    string
		change  func(h *harness)
		wantNew bool
		agent   string
	}{
		{"the agent's config", func(h *harness) {
			h.must("job-agent.updated", jobAgent("a", map[string]any{"cluster": "blue"}))
		}, true, "a"},
		{"the agent's type", func(h *harness) {
			a := jobAgent("a", map[string]any{})
			a["type"] = "other"
			h.must("job-agent.updated", a)
		}, true, "a"},
		{"the deployment's jobAgentConfig", func(h *harness) {
			withAgent(h, func(dep map[string]any) { dep["jobAgentConfig"] = map[string]any{"replicas": 3} })
		}, true, "a"},
		{"the deployment's jobAgentId", func(h *harness) {
			h.must("job-agent.created", jobAgent("b", map[string]any{}))
			withAgent(h, func(dep map[string]any) { dep["jobAgentId"] = "b" })
		}, true, "b"},
		{"the deployment's jobAgents", func(h *harness) {
			h.must("job-agent.created", jobAgent("b", map[string]any{}))
			withAgent(h, func(dep map[string]any) {
				dep["jobAgents"] = []map[string]any{{"ref": "b", "config": map[string]any{}}}
			})
		}, true, "b"},
		{"an update that changes nothing an agent receives", func(h *harness) {
			h.must("job-agent.updated", jobAgent("a", map[string]any{}))
			withAgent(h, func(dep map[string]any) { dep["description"] = "documented" })
		}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			h.must("deployment-version.created", version("v1", t0, ""))
			first := h.onlyJob(prodKey("r1"))
			h.finish(first.ID, model.JobSuccessful)
			tt.change(h)
			jobs := h.jobsOn(prodKey("r1"))
			if !tt.wantNew {
				if len(jobs) != 1 {
					t.Fatalf("%d jobs, want the first only", len(jobs))
				}
				return
			}
			if len(jobs) != 2 || jobs[1].ReleaseID != first.ReleaseID || jobs[1].JobAgentID != tt.agent || jobs[1].Status != model.JobPending {
				t.Fatalf("jobs %v; want a second pending job of the same release on %s", jobVersions(jobs), tt.agent)
			}
		})
	}

	t.Run("adding the missing agent fixes the target", func(t *testing.T) {
		h := newHarness(t)
		world(h, "r1")
		dep := deployment("api", cel("true"))
		dep["jobAgents"] = []map[string]any{{"ref": "later", "config": map[string]any{}}}
		h.must("deployment.updated", dep)
		h.must("deployment-version.created", version("v1", t0, ""))
		bad := h.onlyJob(prodKey("r1"))
		if bad.Status != model.JobInvalidJobAgent || !strings.Contains(bad.Message, `"later"`) {
			t.Fatalf("job %s %q, want invalidJobAgent naming the missing agent", bad.Status, bad.Message)
		}
		h.must("workspace.tick", map[string]any{})
		if n := len(h.jobsOn(prodKey("r1"))); n != 1 {
			t.Fatalf("re-evaluating made %d jobs, want 1", n)
		}
		h.must("job-agent.created", jobAgent("later", map[string]any{}))
		jobs := h.jobsOn(prodKey("r1"))
		if len(jobs) != 2 || jobs[1].Status != model.JobPending || jobs[1].JobAgentID != "later" {
			t.Fatalf("after adding the agent: %d jobs, want a pending one on it", len(jobs))
		}
	})
}

// TestEngine_JobIDsAreDeterministic: the n-th job of a release on an agent
// has the same id in every engine that takes the same decisions.
func TestEngine_JobIDsAreDeterministic(t *testing.T) {
	run := func() []string {
		h := newHarness(t)
		world(h, "r1")
		h.must("policy.created", policyOf("p", "true", map[string]any{"id": "r", "retry": map[string]any{"maxRetries": 2}}))
		h.must("deployment-version.created", version("v1", t0, ""))
		h.finish(h.onlyJob(prodKey("r1")).ID, model.JobFailure)
		var ids []string
		for _, j := range h.jobsOn(prodKey("r1")) {
			ids = append(ids, j.ID)
		}
		return ids
	}
	a, b := run(), run()
	if len(a) != 2 || a[0] != b[0] || a[1] != b[1] || a[0] == a[1] {
		t.Fatalf("job ids %v and %v; want two distinct ids, the same in both runs", a, b)
	}
}
