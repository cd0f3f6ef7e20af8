package engine

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Tests of the engine's policy plumbing: which policies apply to a target,
// what re-evaluates it, and what the engine does with rule results. The
// rules themselves are tested in package policy.

// stages sets up system s with environments staging and prod (selecting
// resources by metadata "env"), deployments (on agent a, selecting every
// resource), and resources s1 (staging), p1 and p2 (prod).
func stages(h *harness, deployments ...string) {
	h.t.Helper()
	if len(deployments) == 0 {
		deployments = []string{"api"}
	}
	h.must("system.created", system("s"))
	h.must("job-agent.created", jobAgent("a", map[string]any{}))
	for _, env := range []string{"staging", "prod"} {
		h.must("environment.created", environment(env, cel(`resource.metadata["env"] == "`+env+`"`)))
		h.must("system-environment.linked", linkE("s", env))
	}
	for _, id := range deployments {
		dep := deployment(id, cel("true"))
		dep["jobAgentId"] = "a"
		h.must("deployment.created", dep)
		h.must("system-deployment.linked", linkD("s", id))
	}
	h.must("resource.created", resource("s1", map[string]string{"env": "staging"}))
	h.must("resource.created", resource("p1", map[string]string{"env": "prod", "gate": "yes"}))
	h.must("resource.created", resource("p2", map[string]string{"env": "prod"}))
}

func policyOf(id, selector string, rules ...map[string]any) map[string]any {
	if rules == nil {
		rules = []map[string]any{}
	}
	return map[string]any{"id": id, "name": id, "enabled": true, "selector": selector, "rules": rules}
}

func approvalRule(id string, min int) map[string]any {
	return map[string]any{"id": id, "anyApproval": map[string]any{"minApprovals": min}}
}

func versionOf(id, deploymentID string, created time.Time) map[string]any {
	v := version(id, created, "")
	v["deploymentId"] = deploymentID
	return v
}

func approval(versionID, environmentID, user, status string) map[string]any {
	return map[string]any{"versionId": versionID, "environmentId": environmentID, "userId": user, "status": status}
}

// deployed returns the sorted keys of the targets with a job of version.
func (h *harness) deployed(versionID string) []string {
	out := []string{}
	for _, j := range h.allJobs() {
		if jobVersion(j) == versionID {
			out = append(out, j.DispatchContext.Release.ReleaseTarget.Key())
		}
	}
	slices.Sort(out)
	return out
}

func wantDeployed(t *testing.T, h *harness, versionID string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	slices.Sort(want)
	if got := h.deployed(versionID); !slices.Equal(got, want) {
		t.Fatalf("targets with a job of %s:\n got  %v\n want %v", versionID, got, want)
	}
}

var (
	s1Staging = model.CompositeKey("s1", "staging", "api")
	p1Prod    = model.CompositeKey("p1", "prod", "api")
	p2Prod    = model.CompositeKey("p2", "prod", "api")
)

func TestEngine_PolicySelector(t *testing.T) {
	tests := []struct {
		name   string
		policy map[string]any
		want   []string // targets that get v1
	}{
		{"a policy gates only the targets its selector matches",
			policyOf("gate", `environment.name == "prod"`, approvalRule("r", 1)), []string{s1Staging}},
		{"a selector over the resource",
			policyOf("gate", `resource.metadata["gate"] == "yes"`, approvalRule("r", 1)), []string{s1Staging, p2Prod}},
		{"a selector over the deployment",
			policyOf("gate", `deployment.name == "api"`, approvalRule("r", 1)), nil},
		{"a missing metadata key does not match",
			policyOf("gate", `resource.metadata["nope"] == "x"`, approvalRule("r", 1)), []string{s1Staging, p1Prod, p2Prod}},
		{"a disabled policy gates nothing", func() map[string]any {
			p := policyOf("gate", "true", approvalRule("r", 1))
			p["enabled"] = false
			return p
		}(), []string{s1Staging, p1Prod, p2Prod}},
		{"a policy matching nothing gates nothing",
			policyOf("gate", "false", approvalRule("r", 1)), []string{s1Staging, p1Prod, p2Prod}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h)
			h.must("policy.created", tt.policy)
			h.must("deployment-version.created", version("v1", time.Now(), ""))
			wantDeployed(t, h, "v1", tt.want...)
		})
	}
	t.Run("a selector that does not compile is refused", func(t *testing.T) {
		h := newHarness(t)
		stages(h)
		if err := h.apply("policy.created", policyOf("gate", "resource.name ===", approvalRule("r", 1))); model.ErrorCode(err) != model.EINVALID {
			t.Fatalf("want EINVALID, got %v", err)
		}
	})
}

func TestEngine_Approvals(t *testing.T) {
	type step struct {
		approval map[string]any
		// want maps a version to the targets with a job of it after the step.
		want map[string][]string
	}
	tests := []struct {
		name  string
		min   int
		steps []step
	}{
		{"an approval unblocks its version's deployment in its environment", 1, []step{
			{approval("v1", "prod", "u1", model.ApprovalApproved),
				map[string][]string{"v1": {p1Prod, p2Prod}, "w1": nil}},
			{approval("w1", "staging", "u1", model.ApprovalApproved),
				map[string][]string{"v1": {p1Prod, p2Prod}, "w1": {model.CompositeKey("s1", "staging", "web")}}},
		}},
		{"a rejection unblocks nothing", 1, []step{
			{approval("v1", "prod", "u1", model.ApprovalRejected), map[string][]string{"v1": nil, "w1": nil}},
		}},
		{"minApprovals counts users", 2, []step{
			{approval("v1", "prod", "u1", model.ApprovalApproved), map[string][]string{"v1": nil}},
			{approval("v1", "prod", "u1", model.ApprovalApproved), map[string][]string{"v1": nil}},
			{approval("v1", "staging", "u2", model.ApprovalApproved), map[string][]string{"v1": nil}},
			{approval("v1", "prod", "u2", model.ApprovalApproved), map[string][]string{"v1": {p1Prod, p2Prod}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h, "api", "web")
			h.must("policy.created", policyOf("gate", "true", approvalRule("r", tt.min)))
			h.must("deployment-version.created", versionOf("v1", "api", time.Now()))
			h.must("deployment-version.created", versionOf("w1", "web", time.Now()))
			wantDeployed(t, h, "v1")
			for _, s := range tt.steps {
				h.must("user-approval-record.created", s.approval)
				for v, want := range s.want {
					wantDeployed(t, h, v, want...)
				}
			}
		})
	}
	t.Run("a version created before the rule needs no approval", func(t *testing.T) {
		h := newHarness(t)
		stages(h)
		h.must("deployment-version.created", version("v0", time.Now().Add(-time.Hour), model.VersionBuilding))
		h.must("policy.created", policyOf("gate", "true", approvalRule("r", 1)))
		h.must("deployment-version.updated", version("v0", time.Now().Add(-time.Hour), model.VersionReady))
		wantDeployed(t, h, "v0", s1Staging, p1Prod, p2Prod)
	})
}

func TestEngine_PolicySkips(t *testing.T) {
	now := time.Now().UTC()
	skip := func(fields map[string]any) map[string]any {
		s := map[string]any{"id": "skip", "versionId": "v1", "ruleId": "approve", "reason": "hotfix", "createdBy": "u1"}
		for k, v := range fields {
			s[k] = v
		}
		return s
	}
	tests := []struct {
		name string
		skip map[string]any
		want []string // targets that get v1; s1 is never gated
	}{
		{"a skip lifts the rule for its version everywhere", skip(nil), []string{p1Prod, p2Prod}},
		{"a skip with an environment lifts it there only", skip(map[string]any{"environmentId": "staging"}), nil},
		{"a skip with a resource lifts it there only", skip(map[string]any{"resourceId": "p2"}), []string{p2Prod}},
		{"a skip with an environment and a resource", skip(map[string]any{"environmentId": "prod", "resourceId": "p1"}), []string{p1Prod}},
		{"an unexpired skip", skip(map[string]any{"expiresAt": now.Add(time.Hour)}), []string{p1Prod, p2Prod}},
		{"an expired skip lifts nothing", skip(map[string]any{"expiresAt": now.Add(-time.Second)}), nil},
		{"a skip of another version", skip(map[string]any{"versionId": "v0"}), nil},
		{"a skip of another rule", skip(map[string]any{"ruleId": "other"}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h)
			h.must("policy.created", policyOf("gate", `environment.name == "prod"`, approvalRule("approve", 1),
				map[string]any{"id": "other", "anyApproval": map[string]any{"minApprovals": 0}}))
			// Both versions are created after the rule, so it applies to them.
			h.must("deployment-version.created", version("v0", time.Time{}, model.VersionBuilding))
			h.must("deployment-version.created", version("v1", time.Time{}, ""))
			wantDeployed(t, h, "v1", s1Staging)
			h.must("policy-skip.created", tt.skip)
			wantDeployed(t, h, "v1", append([]string{s1Staging}, tt.want...)...)
		})
	}
	t.Run("a skip does not lift the rule for a newer version", func(t *testing.T) {
		h := newHarness(t)
		stages(h)
		h.must("policy.created", policyOf("gate", `environment.name == "prod"`, approvalRule("approve", 1)))
		h.must("deployment-version.created", version("v1", time.Time{}, ""))
		h.must("policy-skip.created", skip(nil))
		for _, j := range h.allJobs() {
			h.finish(j.ID, model.JobSuccessful)
		}
		h.must("deployment-version.created", version("v2", time.Time{}, ""))
		wantDeployed(t, h, "v2", s1Staging)
		if got := h.desiredVersion(p1Prod); got != "v1" {
			t.Fatalf("p1 desires %q, want v1", got)
		}
	})
	t.Run("a skip of a missing version is refused", func(t *testing.T) {
		h := newHarness(t)
		stages(h)
		if err := h.apply("policy-skip.created", skip(map[string]any{"versionId": "nope"})); model.ErrorCode(err) != model.EINVALID {
			t.Fatalf("want EINVALID, got %v", err)
		}
	})
}

func TestEngine_PolicyEdit(t *testing.T) {
	gate := func(edit func(p map[string]any)) map[string]any {
		p := policyOf("gate", "true", approvalRule("r", 1))
		edit(p)
		return p
	}
	tests := []struct {
		name      string
		eventType string
		policy    map[string]any
	}{
		{"disabled", "policy.updated", gate(func(p map[string]any) { p["enabled"] = false })},
		{"selector narrowed", "policy.updated", gate(func(p map[string]any) { p["selector"] = "false" })},
		{"rule removed", "policy.updated", gate(func(p map[string]any) { p["rules"] = []any{} })},
		{"rule relaxed", "policy.updated", gate(func(p map[string]any) { p["rules"] = []any{approvalRule("r", 0)} })},
		{"deleted", "policy.deleted", map[string]any{"id": "gate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Scenario 11: rules of every enabled matching policy apply.
			h := newHarness(t)
			world(h, "r1")
			h.must("policy.created", policyOf("open", "true"))
			h.must("policy.created", gate(func(map[string]any) {}))
			h.must("deployment-version.created", version("v1", time.Now(), ""))
			wantDeployed(t, h, "v1")
			h.must(tt.eventType, tt.policy)
			wantDeployed(t, h, "v1", prodKey("r1"))
		})
	}
}

func progressionPolicy(rule map[string]any) map[string]any {
	p := map[string]any{"dependsOnEnvironmentSelector": cel(`environment.name == "staging"`)}
	for k, v := range rule {
		p[k] = v
	}
	return policyOf("progress", `environment.name == "prod"`, map[string]any{"id": "r", "environmentProgression": p})
}

func TestEngine_EnvironmentProgression(t *testing.T) {
	tests := []struct {
		name     string
		rule     map[string]any
		status   string
		wantProd []string
	}{
		{"a success in staging unblocks prod", nil, model.JobSuccessful, []string{p1Prod, p2Prod}},
		{"a failure in staging does not", nil, model.JobFailure, nil},
		{"a listed success status does", map[string]any{"successStatuses": []string{"successful", "skipped"}}, model.JobSkipped, []string{p1Prod, p2Prod}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h, "api", "web")
			h.must("policy.created", progressionPolicy(tt.rule))
			h.must("deployment-version.created", versionOf("v1", "api", time.Now()))
			h.must("deployment-version.created", versionOf("w1", "web", time.Now()))
			wantDeployed(t, h, "v1", s1Staging)
			// Another deployment's success in staging unblocks nothing of api.
			h.finish(h.onlyJob(model.CompositeKey("s1", "staging", "web")).ID, model.JobSuccessful)
			wantDeployed(t, h, "v1", s1Staging)
			h.finish(h.onlyJob(s1Staging).ID, tt.status)
			want := append([]string{s1Staging}, tt.wantProd...)
			slices.Sort(want)
			wantDeployed(t, h, "v1", want...)
		})
	}
}

func TestEngine_DeploymentDependency(t *testing.T) {
	tests := []struct {
		name   string
		status string // of db's job on p1
		want   []string
	}{
		{"a success of the dependency on the resource unblocks the dependent there", model.JobSuccessful, []string{model.CompositeKey("p1", "prod", "api")}},
		{"a failure does not", model.JobFailure, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h, "api", "db")
			h.must("policy.created", policyOf("dep", `deployment.name == "api"`,
				map[string]any{"id": "r", "deploymentDependency": map[string]any{"dependsOn": `deployment.name == "db"`}}))
			h.must("deployment-version.created", versionOf("v1", "api", time.Now()))
			h.must("deployment-version.created", versionOf("d1", "db", time.Now()))
			wantDeployed(t, h, "v1")
			wantDeployed(t, h, "d1", model.CompositeKey("s1", "staging", "db"), model.CompositeKey("p1", "prod", "db"), model.CompositeKey("p2", "prod", "db"))
			h.finish(h.onlyJob(model.CompositeKey("p1", "prod", "db")).ID, tt.status)
			wantDeployed(t, h, "v1", tt.want...)
		})
	}
}

func TestEngine_Rollback(t *testing.T) {
	rollback := func(statuses ...string) map[string]any {
		return policyOf("rb", "true", map[string]any{"id": "r", "rollback": map[string]any{"onJobStatuses": statuses}})
	}
	tests := []struct {
		name     string
		policy   map[string]any
		v1Status string // how v1's job ended
		v2Status string // how v2's job ends
		wantRB   bool
	}{
		{"a listed status rolls back", rollback(model.JobFailure), model.JobSuccessful, model.JobFailure, true},
		{"an unlisted status does not", rollback(model.JobFailure), model.JobSuccessful, model.JobCancelled, false},
		{"no current release, no rollback", rollback(model.JobFailure), model.JobFailure, model.JobFailure, false},
		{"without a rollback rule", policyOf("rb", "true"), model.JobSuccessful, model.JobFailure, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			h.must("policy.created", tt.policy)
			h.must("deployment-version.created", version("v1", t0, ""))
			first := h.onlyJob(prodKey("r1"))
			h.finish(first.ID, tt.v1Status)
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
			second := h.jobsOn(prodKey("r1"))[1]
			h.finish(second.ID, tt.v2Status)
			jobs := h.jobsOn(prodKey("r1"))
			if !tt.wantRB {
				wantVersions(t, "r1", jobs, "v1", "v2")
				return
			}
			wantVersions(t, "r1", jobs, "v1", "v2", "v1")
			rb := jobs[2]
			if rb.ReleaseID != first.ReleaseID || rb.Status != model.JobPending || rb.Metadata["rollbackOf"] != second.ID {
				t.Fatalf("rollback job: release %s (want %s), status %s, metadata %v", rb.ReleaseID, first.ReleaseID, rb.Status, rb.Metadata)
			}
			// The rollback finishing does not bring v2 back: its release had
			// its one job.
			h.finish(rb.ID, model.JobSuccessful)
			wantVersions(t, "r1", h.jobsOn(prodKey("r1")), "v1", "v2", "v1")
		})
	}
	t.Run("the rollback job dispatches the rolled-back release's variables", func(t *testing.T) {
		h := newHarness(t)
		world(h, "r1")
		h.must("policy.created", rollback(model.JobFailure))
		h.must("deployment-variable.created", deploymentVariable("region", "region", "eu"))
		h.must("deployment-version.created", version("v1", t0, ""))
		first := h.onlyJob(prodKey("r1"))
		h.finish(first.ID, model.JobSuccessful)
		h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
		h.must("deployment-variable.updated", deploymentVariable("region", "region", "us"))
		h.finish(h.jobsOn(prodKey("r1"))[1].ID, model.JobFailure)
		rb := h.jobsOn(prodKey("r1"))[2]
		rel, _ := json.Marshal(rb.DispatchContext.Release.Variables)
		dispatched, _ := json.Marshal(rb.DispatchContext.Variables)
		if string(rel) != `{"region":"eu"}` || string(dispatched) != string(rel) {
			t.Fatalf("rollback job of release %s dispatches variables %s, but the release holds %s", rb.ReleaseID, dispatched, rel)
		}
	})
}

func TestEngine_Evaluate(t *testing.T) {
	h := newHarness(t)
	stages(h, "api", "web")
	h.must("policy.created", policyOf("gate", `environment.name == "prod"`, approvalRule("approve", 1),
		map[string]any{"id": "progress", "environmentProgression": map[string]any{"dependsOnEnvironmentSelector": cel(`environment.name == "staging"`)}}))
	h.must("deployment-version.created", version("v1", time.Now(), ""))
	h.must("deployment-version.created", versionOf("w1", "web", time.Now()))
	ws, _ := h.eng.Workspace(h.ws)

	ev, err := h.eng.Evaluate(ws.Store().Snapshot(), p1Prod, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Allowed || ev.Version.ID != "v1" || ev.Message == "" || ev.NextEvaluationTime == nil {
		t.Fatalf("evaluation: allowed %v, version %s, message %q, next %v", ev.Allowed, ev.Version.ID, ev.Message, ev.NextEvaluationTime)
	}
	if len(ev.Policies) != 1 || len(ev.Policies[0].Results) != 2 {
		t.Fatalf("want one policy with two rule results, got %+v", ev.Policies)
	}
	byRule := map[string]policy.Result{}
	for _, r := range ev.Policies[0].Results {
		byRule[r.RuleID] = r
		if r.Allowed || !r.ActionRequired || r.Message == "" {
			t.Errorf("rule %s: %+v", r.RuleID, r)
		}
	}
	if r := byRule["approve"]; r.ActionType != policy.ActionApproval || r.Kind != policy.KindAnyApproval {
		t.Errorf("approval result: %+v", r)
	}
	if r := byRule["progress"]; r.ActionType != policy.ActionWait || r.NextEvaluationTime == nil ||
		!r.NextEvaluationTime.Equal(*ev.NextEvaluationTime) {
		t.Errorf("progression result: %+v (evaluation next %v)", r, ev.NextEvaluationTime)
	}
	st, _ := store.TargetStates.Get(h.snapshot(), p1Prod)
	if !slices.Contains(st.WaitingOn, policy.KindAnyApproval) || !slices.Contains(st.WaitingOn, policy.KindEnvironmentProgression) {
		t.Errorf("target state waits on %v", st.WaitingOn)
	}

	// A staging target: the policy does not match it.
	if ev, err := h.eng.Evaluate(ws.Store().Snapshot(), s1Staging, "v1"); err != nil || !ev.Allowed || len(ev.Policies) != 0 {
		t.Errorf("staging evaluation: %+v, %v", ev, err)
	}
	// A skipped rule is listed as skipped, with no result.
	h.must("policy-skip.created", map[string]any{"id": "sk", "versionId": "v1", "ruleId": "approve", "environmentId": "prod"})
	ev, err = h.eng.Evaluate(ws.Store().Snapshot(), p1Prod, "v1")
	if err != nil || len(ev.Policies) != 1 || !slices.Equal(ev.Policies[0].Skipped, []string{"approve"}) ||
		len(ev.Policies[0].Results) != 1 || ev.Policies[0].Results[0].RuleID != "progress" {
		t.Errorf("with a skip: %+v, %v", ev, err)
	}
	if b, _ := json.Marshal(ev); !strings.Contains(string(b), `"ruleResults"`) {
		t.Errorf("evaluation JSON: %s", b)
	}

	for _, tc := range []struct {
		target, version, code string
	}{
		{"nope", "", model.ENOTFOUND},
		{p1Prod, "nope", model.ENOTFOUND},
		{p1Prod, "w1", model.EINVALID},
	} {
		if _, err := h.eng.Evaluate(ws.Store().Snapshot(), tc.target, tc.version); model.ErrorCode(err) != tc.code {
			t.Errorf("Evaluate(%s, %q): want %s, got %v", tc.target, tc.version, tc.code, err)
		}
	}
}

// TestEngine_EmptyRolloutTypeIsLinear: an empty rolloutType is read as
// linear, as ctrlplane reads it (SPEC §9).
func TestEngine_EmptyRolloutTypeIsLinear(t *testing.T) {
	h := newHarness(t)
	world(h, "r1")
	h.must("policy.created", policyOf("p", "true", map[string]any{"id": "roll",
		"gradualRollout": map[string]any{"rolloutType": "", "timeScaleInterval": 60}}))
	p, err := store.Policies.Get(h.snapshot(), "p")
	if err != nil || p.Rules[0].GradualRollout.RolloutType != "linear" {
		t.Fatalf("stored rule %+v, %v; want rolloutType linear", p, err)
	}
}
