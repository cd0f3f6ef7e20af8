package engine

import (
	"cmp"
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

// Tests of choosing the desired release and creating jobs (SPEC §4, §5),
// driven through events and checked by reading the store.

// t0 is the fixed start of the tests that need explicit times.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newHarnessWith is newHarness with an engine built from cfg.
func newHarnessWith(t *testing.T, cfg Config) *harness {
	h := newHarness(t)
	h.eng = New(cfg)
	t.Cleanup(h.eng.Close)
	return h
}

func jobAgent(id string, config map[string]any) map[string]any {
	return map[string]any{"id": id, "name": id, "type": "custom", "config": config}
}

// version is a version of deployment api; a zero created leaves createdAt
// to the engine and an empty status means ready.
func version(id string, created time.Time, status string) map[string]any {
	v := map[string]any{"id": id, "name": id, "tag": id, "deploymentId": "api", "config": map[string]any{},
		"jobAgentConfig": map[string]any{}, "metadata": map[string]string{}}
	if !created.IsZero() {
		v["createdAt"] = created
	}
	if status != "" {
		v["status"] = status
	}
	return v
}

// world sets up system s with environment prod and deployment api (on job
// agent a), both selecting every resource, and the given resources.
func world(h *harness, resources ...string) {
	h.t.Helper()
	h.must("system.created", system("s"))
	h.must("job-agent.created", jobAgent("a", map[string]any{}))
	h.must("environment.created", environment("prod", cel("true")))
	dep := deployment("api", cel("true"))
	dep["jobAgentId"] = "a"
	h.must("deployment.created", dep)
	h.must("system-environment.linked", linkE("s", "prod"))
	h.must("system-deployment.linked", linkD("s", "api"))
	for _, r := range resources {
		h.must("resource.created", resource(r, map[string]string{}))
	}
}

// prodKey is the key of a resource's target in world.
func prodKey(resource string) string { return resource + "-prod-api" }

// sortJobs orders jobs oldest first (createdAt, then id).
func sortJobs(jobs []*model.Job) []*model.Job {
	slices.SortFunc(jobs, func(a, b *model.Job) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return jobs
}

// jobsOn returns the jobs of a target, oldest first.
func (h *harness) jobsOn(targetKey string) []*model.Job {
	return sortJobs(store.JobsByTarget.Get(h.snapshot(), targetKey))
}

func (h *harness) allJobs() []*model.Job { return sortJobs(store.Jobs.Items(h.snapshot())) }

func (h *harness) job(id string) *model.Job {
	h.t.Helper()
	j, err := store.Jobs.Get(h.snapshot(), id)
	if err != nil {
		h.t.Fatalf("job %s: %v", id, err)
	}
	return j
}

func jobVersion(j *model.Job) string { return j.DispatchContext.Release.Version.ID }

func jobVersions(jobs []*model.Job) []string {
	out := []string{}
	for _, j := range jobs {
		out = append(out, jobVersion(j))
	}
	return out
}

// desired returns the desired release of a target, nil when it has none.
func (h *harness) desired(targetKey string) *model.Release {
	h.t.Helper()
	snap := h.snapshot()
	st, err := store.TargetStates.Get(snap, targetKey)
	if err != nil {
		h.t.Fatalf("target state %s: %v", targetKey, err)
	}
	if st.DesiredReleaseID == "" {
		return nil
	}
	rel, err := store.Releases.Get(snap, st.DesiredReleaseID)
	if err != nil {
		h.t.Fatalf("desired release of %s: %v", targetKey, err)
	}
	return rel
}

func (h *harness) desiredVersion(targetKey string) string {
	h.t.Helper()
	if rel := h.desired(targetKey); rel != nil {
		return rel.Version.ID
	}
	return ""
}

// finish reports a job as ended with status, completed now.
func (h *harness) finish(jobID, status string) {
	h.t.Helper()
	h.must("job.updated", map[string]any{"id": jobID, "fieldsToUpdate": []string{"status", "completedAt"},
		"job": map[string]any{"id": jobID, "status": status, "completedAt": h.eng.cfg.Clock().UTC()}})
}

// onlyJob returns the single job of a target.
func (h *harness) onlyJob(targetKey string) *model.Job {
	h.t.Helper()
	jobs := h.jobsOn(targetKey)
	if len(jobs) != 1 {
		h.t.Fatalf("%s: want 1 job, got %d (%v)", targetKey, len(jobs), jobVersions(jobs))
	}
	return jobs[0]
}

func wantVersions(t *testing.T, what string, got []*model.Job, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if g := jobVersions(got); !slices.Equal(g, want) {
		t.Fatalf("%s: job versions %v, want %v", what, g, want)
	}
}

func TestEngine_VersionChoice(t *testing.T) {
	tests := []struct {
		name string
		// steps run on a world without resources; r1 is created after them
		// unless the steps create it.
		steps       func(h *harness)
		wantDesired map[string]string // resource -> desired version, "" for none
		wantJobs    map[string][]string
	}{
		{"newest ready version wins", func(h *harness) {
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
			h.must("deployment-version.created", version("v3", t0.Add(2*time.Minute), ""))
			h.must("deployment-version.created", version("v1", t0, ""))
		}, map[string]string{"r1": "v3"}, map[string][]string{"r1": {"v3"}}},
		{"a tie on createdAt goes to the greater id", func(h *harness) {
			h.must("deployment-version.created", version("vb", t0, ""))
			h.must("deployment-version.created", version("vc", t0, ""))
			h.must("deployment-version.created", version("va", t0, ""))
		}, map[string]string{"r1": "vc"}, map[string][]string{"r1": {"vc"}}},
		{"versions that are not ready are skipped", func(h *harness) {
			h.must("deployment-version.created", version("v1", t0, model.VersionReady))
			for i, status := range []string{model.VersionBuilding, model.VersionFailed, model.VersionRejected, model.VersionUnspecified} {
				h.must("deployment-version.created", version(status, t0.Add(time.Duration(i+1)*time.Minute), status))
			}
		}, map[string]string{"r1": "v1"}, map[string][]string{"r1": {"v1"}}},
		{"no ready version, no desired release", func(h *harness) {
			h.must("deployment-version.created", version("v1", t0, model.VersionBuilding))
		}, map[string]string{"r1": ""}, map[string][]string{"r1": nil}},
		{"a paused version passes only where it was released", func(h *harness) {
			h.must("resource.created", resource("r1", nil))
			h.must("deployment-version.created", version("v1", t0, ""))
			h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
			h.must("deployment-version.updated", version("v1", t0, model.VersionPaused))
			h.must("resource.created", resource("r2", nil))
		}, map[string]string{"r1": "v1", "r2": ""}, map[string][]string{"r1": {"v1"}, "r2": nil}},
		{"a version created paused is not deployed", func(h *harness) {
			h.must("deployment-version.created", version("v1", t0, ""))
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), model.VersionPaused))
		}, map[string]string{"r1": "v1"}, map[string][]string{"r1": {"v1"}}},
		{"deleting the newest version makes the previous one desired", func(h *harness) {
			h.must("resource.created", resource("r1", nil))
			h.must("deployment-version.created", version("v1", t0, ""))
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
			h.must("deployment-version.deleted", map[string]any{"id": "v2"})
		}, map[string]string{"r1": "v1"}, map[string][]string{"r1": {"v1"}}},
		{"deleting the deployed version leaves the job and desires the previous one", func(h *harness) {
			h.must("resource.created", resource("r1", nil))
			h.must("deployment-version.created", version("v1", t0, ""))
			h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
			h.must("deployment-version.deleted", map[string]any{"id": "v2"})
		}, map[string]string{"r1": "v1"}, map[string][]string{"r1": {"v1", "v2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h)
			tt.steps(h)
			if !store.Resources.Has(h.snapshot(), "r1") {
				h.must("resource.created", resource("r1", nil))
			}
			for r, want := range tt.wantDesired {
				if got := h.desiredVersion(prodKey(r)); got != want {
					t.Errorf("%s: desired version %q, want %q", r, got, want)
				}
			}
			for r, want := range tt.wantJobs {
				wantVersions(t, r, h.jobsOn(prodKey(r)), want...)
			}
		})
	}
}

func TestEngine_Concurrency(t *testing.T) {
	for _, status := range []string{model.JobSuccessful, model.JobFailure, model.JobCancelled} {
		t.Run("first job ends "+status, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			h.must("deployment-version.created", version("v1", t0, ""))
			first := h.onlyJob(prodKey("r1"))
			h.must("job.updated", map[string]any{"id": first.ID, "job": map[string]any{"status": model.JobInProgress}})
			h.must("deployment-version.created", version("v2", t0.Add(time.Minute), ""))
			h.must("deployment-version.created", version("v3", t0.Add(2*time.Minute), ""))
			if got := h.onlyJob(prodKey("r1")); got.Status != model.JobInProgress {
				t.Fatalf("a newer version changed the running job to %s", got.Status)
			}
			st, _ := store.TargetStates.Get(h.snapshot(), prodKey("r1"))
			if !strings.Contains(st.Reason, first.ID) {
				t.Errorf("reason %q does not name the job waited for", st.Reason)
			}
			h.finish(first.ID, status)
			wantVersions(t, "r1", h.jobsOn(prodKey("r1")), "v1", "v3")
			if got := h.job(first.ID).Status; got != status {
				t.Errorf("first job: %s, want %s", got, status)
			}
		})
	}
}

func TestEngine_Retry(t *testing.T) {
	backoff := 0
	tests := []struct {
		name  string
		rules []map[string]any
		// wantJobs after the first job fails, and after the second (if any)
		// fails too.
		wantJobs []int
	}{
		{"no retry rule: one job per release", nil, []int{1, 1}},
		{"maxRetries 1: exactly one more job", []map[string]any{{"retry": map[string]any{"maxRetries": 1}}}, []int{2, 2}},
		{"maxRetries 2 with zero backoff", []map[string]any{{"retry": map[string]any{"maxRetries": 2, "backoffSeconds": backoff}}}, []int{2, 3}},
		{"maxRetries 0: no retry", []map[string]any{{"retry": map[string]any{"maxRetries": 0}}}, []int{1, 1}},
		{"status not retried", []map[string]any{{"retry": map[string]any{"maxRetries": 3, "retryOnStatuses": []string{"cancelled"}}}}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			if tt.rules != nil {
				h.must("policy.created", map[string]any{"id": "p", "name": "p", "enabled": true, "selector": "true", "rules": tt.rules})
			}
			h.must("deployment-version.created", version("v1", t0, ""))
			for round, want := range tt.wantJobs {
				jobs := h.jobsOn(prodKey("r1"))
				if last := jobs[len(jobs)-1]; model.IsProcessingJobStatus(last.Status) {
					h.finish(last.ID, model.JobFailure)
				}
				jobs = h.jobsOn(prodKey("r1"))
				if len(jobs) != want {
					t.Fatalf("after failure %d: %d jobs, want %d", round+1, len(jobs), want)
				}
				for _, j := range jobs {
					if j.ReleaseID != jobs[0].ReleaseID {
						t.Fatalf("a retry is for another release")
					}
				}
			}
		})
	}
}

// variableCase builds a variable scenario on a world with resource r1 and
// version v1 and checks r1's release variables.
type variableCase struct {
	name  string
	steps func(h *harness)
	want  map[string]any
}

func deploymentVariable(id, key string, def any) map[string]any {
	v := map[string]any{"id": id, "key": key, "deploymentId": "api"}
	if def != nil {
		v["defaultValue"] = def
	}
	return v
}

func variableValue(id, variableID string, priority int, sel, value any) map[string]any {
	v := map[string]any{"id": id, "deploymentVariableId": variableID, "priority": priority, "value": value}
	if sel != nil {
		v["resourceSelector"] = sel
	}
	return v
}

// vpcRule relates Cluster resources to the Network whose identifier their
// metadata "vpc" names.
func vpcRule() map[string]any {
	return map[string]any{"id": "vpc", "name": "vpc", "reference": "vpc", "fromType": "resource", "toType": "resource",
		"fromSelector": cel(`resource.kind == "Cluster"`), "toSelector": cel(`resource.kind == "Network"`),
		"matcher": map[string]any{"properties": []map[string]any{{"fromProperty": []string{"metadata", "vpc"},
			"toProperty": []string{"identifier"}, "operator": "equals"}}}}
}

func network(id, cidr string) map[string]any {
	return map[string]any{"id": id, "name": id, "identifier": id, "kind": "Network", "version": "v1",
		"config": map[string]any{"cidr": cidr, "nested": map[string]any{"zone": "z-" + id}}, "metadata": map[string]string{}}
}

func TestEngine_Variables(t *testing.T) {
	all := cel("true")
	tests := []variableCase{
		{"resource variable beats deployment values", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("region", "region", "default"))
			h.must("deployment-variable-value.created", variableValue("val", "region", 100, all, "from-value"))
			h.must("resource-variable.created", map[string]any{"resourceId": "r1", "key": "region", "value": "from-resource"})
		}, map[string]any{"region": "from-resource"}},
		{"highest priority matching value wins", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("region", "region", "default"))
			h.must("deployment-variable-value.created", variableValue("low", "region", 1, all, "low"))
			h.must("deployment-variable-value.created", variableValue("high", "region", 5, all, "high"))
			h.must("deployment-variable-value.created", variableValue("higher", "region", 9, cel("false"), "not-matching"))
		}, map[string]any{"region": "high"}},
		{"a priority tie goes to the lower id", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("region", "region", nil))
			h.must("deployment-variable-value.created", variableValue("b", "region", 1, all, "b"))
			h.must("deployment-variable-value.created", variableValue("a", "region", 1, all, "a"))
		}, map[string]any{"region": "a"}},
		{"default when no value matches", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("region", "region", "default"))
			h.must("deployment-variable-value.created", variableValue("val", "region", 1, cel("false"), "x"))
		}, map[string]any{"region": "default"}},
		{"no value and no default: omitted", func(h *harness) {
			h.must("deployment-variable.created", deploymentVariable("region", "region", nil))
			h.must("deployment-variable.created", deploymentVariable("size", "size", map[string]any{"object": map[string]any{"cpu": 2}}))
		}, map[string]any{"size": map[string]any{"object": map[string]any{"cpu": 2}}}},
		{"reference through a property relationship rule", func(h *harness) {
			h.must("resource.created", network("net-1", "10.0.0.0/16"))
			h.must("resource.updated", resource("r1", map[string]string{"vpc": "net-1"}))
			h.must("relationship-rule.created", vpcRule())
			h.must("deployment-variable.created", deploymentVariable("cidr", "cidr", "none"))
			h.must("deployment-variable.created", deploymentVariable("zone", "zone", "none"))
			h.must("deployment-variable-value.created", variableValue("cidr-ref", "cidr", 1, nil,
				map[string]any{"reference": "vpc", "path": []string{"config", "cidr"}}))
			h.must("deployment-variable-value.created", variableValue("zone-ref", "zone", 1, nil,
				map[string]any{"reference": "vpc", "path": []string{"config", "nested", "zone"}}))
		}, map[string]any{"cidr": "10.0.0.0/16", "zone": "z-net-1"}},
		{"an unresolvable reference falls through", func(h *harness) {
			h.must("resource.created", network("net-1", "10.0.0.0/16"))
			h.must("relationship-rule.created", vpcRule()) // r1 has no vpc metadata
			h.must("deployment-variable.created", deploymentVariable("cidr", "cidr", "none"))
			h.must("deployment-variable-value.created", variableValue("ref", "cidr", 9, nil,
				map[string]any{"reference": "vpc", "path": []string{"config", "cidr"}}))
			h.must("deployment-variable-value.created", variableValue("lit", "cidr", 1, nil, "literal"))
		}, map[string]any{"cidr": "literal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			tt.steps(h)
			h.must("deployment-version.created", version("v1", t0, ""))
			j := h.onlyJob(prodKey("r1"))
			want, _ := json.Marshal(tt.want)
			got, _ := json.Marshal(j.DispatchContext.Release.Variables)
			if string(got) != string(want) {
				t.Fatalf("release variables %s, want %s", got, want)
			}
			if got, _ := json.Marshal(j.DispatchContext.Variables); string(got) != string(want) {
				t.Fatalf("dispatch variables %s, want %s", got, want)
			}
			if rel := h.desired(prodKey("r1")); rel.ID != j.ReleaseID {
				t.Fatalf("job is for release %s, desired is %s", j.ReleaseID, rel.ID)
			}
		})
	}
}

func TestEngine_ReleaseIdentity(t *testing.T) {
	setup := []struct {
		eventType string
		data      any
	}{
		{"system.created", system("s")},
		{"job-agent.created", jobAgent("a", map[string]any{})},
		{"environment.created", environment("prod", cel("true"))},
		{"deployment.created", func() map[string]any { d := deployment("api", cel("true")); d["jobAgentId"] = "a"; return d }()},
		{"system-environment.linked", linkE("s", "prod")},
		{"system-deployment.linked", linkD("s", "api")},
		{"resource.created", resource("r1", nil)},
		{"deployment-variable.created", deploymentVariable("region", "region", "eu")},
		{"deployment-version.created", version("v1", t0, "")},
	}
	build := func(t *testing.T) *harness {
		h := newHarness(t)
		for _, ev := range setup {
			h.must(ev.eventType, ev.data)
		}
		return h
	}
	t.Run("recomputed after an unrelated event", func(t *testing.T) {
		h := build(t)
		before := h.desired(prodKey("r1"))
		releases := store.Releases.Count(h.snapshot())
		// A policy re-evaluates every target.
		h.must("policy.created", map[string]any{"id": "p", "name": "p", "enabled": true, "selector": "true", "rules": []any{}})
		h.must("resource.created", resource("r2", nil))
		if after := h.desired(prodKey("r1")); after.ID != before.ID {
			t.Fatalf("release id changed from %s to %s", before.ID, after.ID)
		}
		if n := store.Releases.Count(h.snapshot()); n != releases+1 { // r2's
			t.Fatalf("%d releases, want %d", n, releases+1)
		}
		if n := len(h.jobsOn(prodKey("r1"))); n != 1 {
			t.Fatalf("r1 has %d jobs, want 1", n)
		}
	})
	t.Run("a fresh engine fed the same events", func(t *testing.T) {
		a, b := build(t), build(t)
		if ra, rb := a.desired(prodKey("r1")), b.desired(prodKey("r1")); ra.ID != rb.ID {
			t.Fatalf("release ids differ: %s and %s", ra.ID, rb.ID)
		}
	})
	t.Run("a changed default is a new release with a new job", func(t *testing.T) {
		h := build(t)
		first := h.onlyJob(prodKey("r1"))
		h.finish(first.ID, model.JobSuccessful)
		h.must("deployment-variable.updated", deploymentVariable("region", "region", "us"))
		rel := h.desired(prodKey("r1"))
		if rel.ID == first.ReleaseID || rel.Version.ID != "v1" {
			t.Fatalf("desired release %s of %s; want a new release of v1", rel.ID, rel.Version.ID)
		}
		jobs := h.jobsOn(prodKey("r1"))
		if len(jobs) != 2 || jobs[1].ReleaseID != rel.ID {
			t.Fatalf("want a second job for release %s, got %d jobs", rel.ID, len(jobs))
		}
		if got := jobs[1].DispatchContext.Release.Variables["region"].V; got != "us" {
			t.Fatalf("new release has region %v", got)
		}
		// Back to the old default: the old content, so the old id again.
		h.must("deployment-variable.updated", deploymentVariable("region", "region", "eu"))
		if got := h.desired(prodKey("r1")).ID; got != first.ReleaseID {
			t.Fatalf("same content has release id %s, first was %s", got, first.ReleaseID)
		}
	})
	t.Run("a resource variable changes the id", func(t *testing.T) {
		h := build(t)
		before := h.desired(prodKey("r1")).ID
		h.must("resource-variable.created", map[string]any{"resourceId": "r1", "key": "region", "value": "ap"})
		if after := h.desired(prodKey("r1")).ID; after == before {
			t.Fatal("a changed variable kept the release id")
		}
	})
}

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
		{"a missing agent ref is skipped", []map[string]any{{"ref": "nope"}, {"ref": "a2"}}, "", []string{"a2"}},
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
	add(store.Jobs, store.Jobs.Items(snap))
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
		name  string
		event string
		data  any
	}{
		{"deployment variable value", "deployment-variable-value.created", variableValue("val", "token", 1, cel("true"), secret)},
		{"resource variable", "resource-variable.created", map[string]any{"resourceId": "r1", "key": "token", "value": secret}},
		{"bulk resource variables", "resource-variables.bulk-updated", map[string]any{"resourceId": "r1", "variables": map[string]any{"token": secret}}},
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
			opened, err := sealer.Open(&model.SensitiveValue{Ciphertext: ct})
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
