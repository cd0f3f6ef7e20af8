package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Tests of the jobs a release gets: agents, updates, redeploys, cancellation
// and sensitive values (SPEC §5).

func TestEngine_JobAgents(t *testing.T) {
	tests := []struct {
		name       string
		agents     []map[string]any // deployment.jobAgents
		jobAgentID string
		wantAgents []string // sorted agent ids of the jobs; "" for an invalidJobAgent job
	}{
		{"selectors pick entries", []map[string]any{
			{"ref": "a1", "selector": "true"},
			{"ref": "a2", "selector": `resource.metadata["tier"] == "web"`},
			{"ref": "a3", "selector": `environment.name == "staging"`},
			{"ref": "a3", "selector": `release.version.tag == "v1" && deployment.name == "api"`},
		}, "", []string{"a1", "a2", "a3"}},
		{"an empty selector holds", []map[string]any{{"ref": "a2"}}, "a1", []string{"a2"}},
		{"jobAgentId without entries", nil, "a1", []string{"a1"}},
		{"no entry's selector holds", []map[string]any{{"ref": "a1", "selector": "false"}}, "a1", []string{""}},
		{"a missing agent ref is unusable", []map[string]any{{"ref": "nope"}}, "", []string{""}},
		{"a missing agent ref gives its own invalid job", []map[string]any{{"ref": "nope"}, {"ref": "a2"}}, "", []string{"", "a2"}},
		{"a missing jobAgentId", nil, "nope", []string{""}},
		{"no agent at all", nil, "", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h)
			for _, id := range []string{"a1", "a2", "a3"} {
				h.must("job-agent.created", jobAgent(id, map[string]any{}))
			}
			dep := deployment("api", cel("true"))
			dep["jobAgentId"] = tt.jobAgentID
			dep["jobAgents"] = tt.agents
			h.must("deployment.updated", dep)
			h.must("resource.created", resource("r1", map[string]string{"tier": "web"}))
			h.must("deployment-version.created", version("v1", t0, ""))
			h.must("workspace.tick", map[string]any{}) // re-evaluation adds no job
			var got []string
			for _, j := range h.jobsOn(prodKey("r1")) {
				switch j.Status {
				case model.JobInvalidJobAgent:
					got = append(got, "")
				case model.JobPending:
					got = append(got, j.JobAgentID)
					if j.DispatchContext.JobAgent.ID != j.JobAgentID {
						t.Errorf("dispatch context names agent %q, job %q", j.DispatchContext.JobAgent.ID, j.JobAgentID)
					}
				default:
					t.Errorf("job %s has status %s", j.ID, j.Status)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.wantAgents) {
				t.Fatalf("job agents %q, want %q", got, tt.wantAgents)
			}
		})
	}
}

func TestEngine_JobAgentConfigMerge(t *testing.T) {
	h := newHarness(t)
	world(h)
	h.must("job-agent.created", jobAgent("a1", map[string]any{"keep": "agent", "o": "agent",
		"nested": map[string]any{"x": "agent", "y": "agent", "deep": map[string]any{"p": "agent", "q": "agent"}}}))
	dep := deployment("api", cel("true"))
	dep["jobAgentConfig"] = map[string]any{"d": "deployment", "o": "deployment",
		"nested": map[string]any{"y": "deployment", "z": "deployment", "deep": map[string]any{"q": "deployment"}}}
	dep["jobAgents"] = []map[string]any{{"ref": "a1", "config": map[string]any{"o": "entry",
		"nested": map[string]any{"z": "entry", "w": "entry"}}}}
	h.must("deployment.updated", dep)
	v := version("v1", t0, "")
	v["jobAgentConfig"] = map[string]any{"o": "version", "nested": map[string]any{"w": "version", "deep": map[string]any{"r": "version"}}}
	h.must("deployment-version.created", v)
	h.must("resource.created", resource("r1", nil))
	j := h.onlyJob(prodKey("r1"))
	want := `{"d":"deployment","keep":"agent","nested":{"deep":{"p":"agent","q":"deployment","r":"version"},` +
		`"w":"version","x":"agent","y":"deployment","z":"entry"},"o":"version"}`
	for what, cfg := range map[string]map[string]any{"job": j.JobAgentConfig, "dispatch context": j.DispatchContext.JobAgentConfig} {
		if got, _ := json.Marshal(cfg); string(got) != want {
			t.Errorf("%s config:\n got  %s\n want %s", what, got, want)
		}
	}
	a, _ := store.JobAgents.Get(h.snapshot(), "a1")
	if got, _ := json.Marshal(a.Config); string(got) != `{"keep":"agent","nested":{"deep":{"p":"agent","q":"agent"},"x":"agent","y":"agent"},"o":"agent"}` {
		t.Errorf("merging changed the stored agent's config: %s", got)
	}
}

func TestEngine_JobUpdated(t *testing.T) {
	setup := func(t *testing.T) (*harness, *model.Job) {
		h := newHarness(t)
		world(h, "r1")
		h.must("deployment-version.created", version("v1", t0, ""))
		j := h.onlyJob(prodKey("r1"))
		h.must("job.updated", map[string]any{"id": j.ID, "fieldsToUpdate": []string{"externalId"},
			"job": map[string]any{"externalId": "run-7"}})
		return h, j
	}
	tests := []struct {
		name     string
		update   func(j *model.Job) map[string]any
		wantCode string
	}{
		{"by id", func(j *model.Job) map[string]any {
			return map[string]any{"id": j.ID, "job": map[string]any{"status": "inProgress"}}
		}, ""},
		{"by id in the body", func(j *model.Job) map[string]any {
			return map[string]any{"job": map[string]any{"id": j.ID, "status": "inProgress"}}
		}, ""},
		{"by agent and external id", func(j *model.Job) map[string]any {
			return map[string]any{"agentId": "a", "externalId": "run-7", "job": map[string]any{"status": "inProgress"}}
		}, ""},
		{"conflicting id in the body", func(j *model.Job) map[string]any {
			return map[string]any{"id": j.ID, "job": map[string]any{"id": "other", "status": "inProgress"}}
		}, model.EINVALID},
		{"body id disagrees with agent and external id", func(j *model.Job) map[string]any {
			return map[string]any{"agentId": "a", "externalId": "run-8", "job": map[string]any{"id": j.ID, "status": "inProgress"}}
		}, model.EINVALID},
		{"unknown job id", func(j *model.Job) map[string]any {
			return map[string]any{"id": "nope", "job": map[string]any{"status": "inProgress"}}
		}, model.ENOTFOUND},
		{"unknown external id", func(j *model.Job) map[string]any {
			return map[string]any{"agentId": "a", "externalId": "run-8", "job": map[string]any{"status": "inProgress"}}
		}, model.ENOTFOUND},
		{"no identity", func(j *model.Job) map[string]any {
			return map[string]any{"job": map[string]any{"status": "inProgress"}}
		}, model.EINVALID},
		{"unknown status", func(j *model.Job) map[string]any {
			return map[string]any{"id": j.ID, "job": map[string]any{"status": "done"}}
		}, model.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, j := setup(t)
			err := h.apply("job.updated", tt.update(j))
			if got := model.ErrorCode(err); err != nil && got != tt.wantCode || err == nil && tt.wantCode != "" {
				t.Fatalf("want code %q, got %v", tt.wantCode, err)
			}
			want := model.JobInProgress
			if tt.wantCode != "" {
				want = model.JobPending
			}
			if got := h.job(j.ID); got.Status != want || got.ExternalID != "run-7" {
				t.Fatalf("job is %s (external id %q), want %s", got.Status, got.ExternalID, want)
			}
		})
	}
	t.Run("a terminal status re-evaluates the target", func(t *testing.T) {
		h, j := setup(t)
		h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
		h.must("job.updated", map[string]any{"agentId": "a", "externalId": "run-7", "job": map[string]any{"status": "inProgress"}})
		wantVersions(t, "while in progress", h.jobsOn(prodKey("r1")), "v1")
		h.must("job.updated", map[string]any{"agentId": "a", "externalId": "run-7", "job": map[string]any{"status": "failure"}})
		wantVersions(t, "after the failure", h.jobsOn(prodKey("r1")), "v1", "v2")
		if got := h.job(j.ID).Status; got != model.JobFailure {
			t.Fatalf("job status %s", got)
		}
	})
}

func TestEngine_Redeploy(t *testing.T) {
	target := map[string]any{"resourceId": "r1", "environmentId": "prod", "deploymentId": "api"}
	h := newHarness(t)
	world(h, "r1")
	h.must("deployment-version.created", version("v1", t0, ""))
	first := h.onlyJob(prodKey("r1"))
	for _, status := range []string{model.JobPending, model.JobInProgress, model.JobActionRequired} {
		if status != model.JobPending {
			h.must("job.updated", map[string]any{"id": first.ID, "job": map[string]any{"status": status}})
		}
		if err := h.apply("release-target.deploy", target); model.ErrorCode(err) != model.ECONFLICT {
			t.Fatalf("redeploy while the job is %s: want a conflict, got %v", status, err)
		}
	}
	h.finish(first.ID, model.JobSuccessful)
	if cur := history.CurrentRelease(h.snapshot(), prodKey("r1")); cur == nil || cur.ID != first.ReleaseID {
		t.Fatalf("current release %v, want %s", cur, first.ReleaseID)
	}
	h.must("release-target.deploy", target)
	jobs := h.jobsOn(prodKey("r1"))
	if len(jobs) != 2 || jobs[1].ReleaseID != first.ReleaseID || jobs[1].Status != model.JobPending {
		t.Fatalf("want a second pending job for release %s, got %d jobs", first.ReleaseID, len(jobs))
	}
	if err := h.apply("release-target.deploy", map[string]any{"resourceId": "nope", "environmentId": "prod", "deploymentId": "api"}); model.ErrorCode(err) != model.ENOTFOUND {
		t.Fatalf("redeploy of a missing target: want not found, got %v", err)
	}
}

func TestEngine_ResourceDeletedCancelsJobs(t *testing.T) {
	h := newHarness(t)
	world(h, "r1", "r2")
	h.must("deployment-version.created", version("v1", t0, ""))
	h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
	h.finish(h.onlyJob(prodKey("r2")).ID, model.JobSuccessful)
	h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
	jobs := h.jobsOn(prodKey("r1"))
	h.must("job.updated", map[string]any{"id": jobs[1].ID, "job": map[string]any{"status": "inProgress"}})
	other := h.jobsOn(prodKey("r2"))[1]

	h.must("resource.deleted", map[string]any{"id": "r1"})
	want := map[string]string{jobs[0].ID: model.JobSuccessful, jobs[1].ID: model.JobCancelled, other.ID: model.JobPending}
	for id, status := range want {
		j := h.job(id)
		if j.Status != status {
			t.Errorf("job %s (%s): %s, want %s", id, jobVersion(j), j.Status, status)
		}
		if status == model.JobCancelled && j.CompletedAt.IsZero() {
			t.Errorf("cancelled job %s has no completedAt", id)
		}
	}
	if store.TargetStates.Has(h.snapshot(), prodKey("r1")) {
		t.Error("the removed target kept its state")
	}
}

// tableDump JSON-encodes every row of every table.
func tableDump(t *testing.T, snap store.Snapshot) map[string][]byte {
	t.Helper()
	items := map[string]any{}
	add := func(table store.Schema, rows any) { items[table.TableName()] = rows }
	add(store.Workspaces, store.Workspaces.Items(snap))
	add(store.ProcessedEvents, store.ProcessedEvents.Items(snap))
	add(store.ConsumerOffsets, store.ConsumerOffsets.Items(snap))
	add(store.DeadLetters, store.DeadLetters.Items(snap))
	add(store.Systems, store.Systems.Items(snap))
	add(store.ResourceProviders, store.ResourceProviders.Items(snap))
	add(store.Resources, store.Resources.Items(snap))
	add(store.Environments, store.Environments.Items(snap))
	add(store.JobAgents, store.JobAgents.Items(snap))
	add(store.Deployments, store.Deployments.Items(snap))
	add(store.SystemDeployments, store.SystemDeployments.Items(snap))
	add(store.SystemEnvironments, store.SystemEnvironments.Items(snap))
	add(store.DeploymentVersions, store.DeploymentVersions.Items(snap))
	add(store.DeploymentVariables, store.DeploymentVariables.Items(snap))
	add(store.DeploymentVariableValues, store.DeploymentVariableValues.Items(snap))
	add(store.ResourceVariables, store.ResourceVariables.Items(snap))
	add(store.Policies, store.Policies.Items(snap))
	add(store.PolicySkips, store.PolicySkips.Items(snap))
	add(store.UserApprovalRecords, store.UserApprovalRecords.Items(snap))
	add(store.RelationshipRules, store.RelationshipRules.Items(snap))
	add(store.Workflows, store.Workflows.Items(snap))
	add(store.WorkflowRuns, store.WorkflowRuns.Items(snap))
	add(store.WorkflowJobs, store.WorkflowJobs.Items(snap))
	add(store.Releases, store.Releases.Items(snap))
	add(store.EntitySnapshots, store.EntitySnapshots.Items(snap))
	add(store.Jobs, store.Jobs.Items(snap))
	add(store.JobVerifications, store.JobVerifications.Items(snap))
	add(store.VerificationMeasurements, store.VerificationMeasurements.Items(snap))
	add(store.Freezes, store.Freezes.Items(snap))
	add(store.VariableSets, store.VariableSets.Items(snap))
	add(store.DeploymentPlans, store.DeploymentPlans.Items(snap))
	add(store.ReleaseTargets, store.ReleaseTargets.Items(snap))
	add(store.TargetStates, store.TargetStates.Items(snap))
	out := map[string][]byte{}
	for _, table := range store.Tables {
		rows, ok := items[table.TableName()]
		if !ok {
			t.Fatalf("table %s is not scanned; add it to tableDump", table.TableName())
		}
		b, err := json.Marshal(rows)
		if err != nil {
			t.Fatal(err)
		}
		out[table.TableName()] = b
	}
	return out
}

func TestEngine_SensitiveValues(t *testing.T) {
	const clear = "s3cret"
	secret := map[string]any{"sensitive": clear}
	tests := []struct {
		name    string
		event   string
		data    any
		binding func(ws string) string
	}{
		{"deployment variable value", "deployment-variable-value.created", variableValue("val", "token", 1, cel("true"), secret),
			func(ws string) string { return VariableValueBinding(ws, "val") }},
		{"resource variable", "resource-variable.created", map[string]any{"resourceId": "r1", "key": "token", "value": secret},
			func(ws string) string { return ResourceVariableBinding(ws, "r1", "token") }},
		{"bulk resource variables", "resource-variables.bulk-updated", map[string]any{"resourceId": "r1", "variables": map[string]any{"token": secret}},
			func(ws string) string { return ResourceVariableBinding(ws, "r1", "token") }},
		{"variable set", "variable-set.created", map[string]any{"id": "vs", "name": "secrets", "selector": "true",
			"variables": []any{map[string]any{"key": "token", "value": secret}}},
			func(ws string) string { return VariableSetBinding(ws, "vs", "token") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealer, err := secrets.New(strings.Repeat("0f", 32))
			if err != nil {
				t.Fatal(err)
			}
			h := newHarnessWith(t, Config{Sealer: sealer})
			world(h, "r1")
			h.must("deployment-variable.created", deploymentVariable("token", "token", nil))
			h.must(tt.event, tt.data)
			h.must("deployment-version.created", version("v1", t0, ""))

			for table, doc := range tableDump(t, h.snapshot()) {
				if strings.Contains(string(doc), clear) {
					t.Errorf("table %s holds the clear text: %s", table, doc)
				}
			}
			j := h.onlyJob(prodKey("r1"))
			rel := h.desired(prodKey("r1"))
			if !slices.Equal(rel.EncryptedVariables, []string{"token"}) {
				t.Errorf("encryptedVariables %v", rel.EncryptedVariables)
			}
			sens, _ := j.DispatchContext.Variables["token"].V.(map[string]any)["sensitive"].(map[string]any)
			ct, _ := sens["ciphertext"].(string)
			if sens["binding"] != tt.binding(h.ws) {
				t.Errorf("dispatch variable bound to %v, want %s", sens["binding"], tt.binding(h.ws))
			}
			opened, err := sealer.Open(&model.SensitiveValue{Ciphertext: ct}, tt.binding(h.ws))
			if err != nil || opened != clear {
				t.Fatalf("dispatch variable %v does not open to the secret: %q, %v", j.DispatchContext.Variables["token"], opened, err)
			}
			// The same secret sealed again (a new ciphertext) is the same release.
			h.must(tt.event, tt.data)
			if got := h.desired(prodKey("r1")).ID; got != rel.ID {
				t.Errorf("re-sealing the same secret changed the release id")
			}
		})
		t.Run(tt.name+" without a sealer", func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			h.must("deployment-variable.created", deploymentVariable("token", "token", nil))
			if err := h.apply(tt.event, tt.data); model.ErrorCode(err) != model.EINVALID {
				t.Fatalf("want EINVALID, got %v", err)
			}
			if store.DeploymentVariableValues.Count(h.snapshot())+store.ResourceVariables.Count(h.snapshot()) != 0 {
				t.Fatal("a refused value was stored")
			}
		})
	}
}

// TestEngine_ReferenceVariablesAtScale resolves reference variables for
// enough targets (over 128) that the planner computes them in parallel.
func TestEngine_ReferenceVariablesAtScale(t *testing.T) {
	h := newHarness(t)
	world(h)
	h.must("relationship-rule.created", vpcRule())
	h.must("resource.created", network("net-1", "10.0.0.0/16"))
	h.must("deployment-variable.created", deploymentVariable("cidr", "cidr", "none"))
	h.must("deployment-variable-value.created", variableValue("ref", "cidr", 1, nil,
		map[string]any{"reference": "vpc", "path": []string{"config", "cidr"}}))
	const n = 300
	for i := range n {
		h.must("resource.created", resource(fmt.Sprint("c", i), map[string]string{"vpc": "net-1"}))
	}
	h.must("deployment-version.created", version("v1", t0, ""))
	for i := range n {
		j := h.onlyJob(prodKey(fmt.Sprint("c", i)))
		if got := j.DispatchContext.Release.Variables["cidr"].V; got != "10.0.0.0/16" {
			t.Fatalf("c%d: cidr %v", i, got)
		}
	}
}
