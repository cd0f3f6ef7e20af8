package engine

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
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
func prodKey(resource string) string { return model.CompositeKey(resource, "prod", "api") }

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
		{"a status the rule does not count is no attempt", []map[string]any{{"retry": map[string]any{"maxRetries": 1, "retryOnStatuses": []string{"cancelled"}}}}, []int{2, 3}},
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
