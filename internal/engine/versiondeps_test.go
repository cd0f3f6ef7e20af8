package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

var (
	p1DB = model.CompositeKey("p1", "prod", "db")
	p2DB = model.CompositeKey("p2", "prod", "db")
	s1DB = model.CompositeKey("s1", "staging", "db")
)

// dependentVersion is version id of api needing db at a version expr
// accepts.
func dependentVersion(id string, created time.Time, expr string) map[string]any {
	v := versionOf(id, "api", created)
	v["dependencies"] = map[string]any{"db": map[string]any{"versionSelector": expr}}
	return v
}

// TestEngine_VersionDependencies: a version that names a dependency waits
// on each resource until the other deployment's current release there
// matches, and moves at once when it does.
func TestEngine_VersionDependencies(t *testing.T) {
	tests := []struct {
		name string
		// dbTag is the db version deployed; status how its job on p1 ends.
		dbTag, status string
		want          []string // api targets with a job of a1 afterwards
	}{
		{"a matching version deployed on the resource opens it", "v2.1", model.JobSuccessful, []string{p1Prod}},
		{"a version the selector refuses does not", "v1.9", model.JobSuccessful, nil},
		{"a matching version that failed does not", "v2.1", model.JobFailure, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h, "api", "db")
			h.must("deployment-version.created", dependentVersion("a1", t0, `version.tag.startsWith("v2")`))
			wantDeployed(t, h, "a1")
			h.must("deployment-version.created", map[string]any{"id": "d1", "name": tt.dbTag, "tag": tt.dbTag,
				"deploymentId": "db", "createdAt": t0})
			wantDeployed(t, h, "d1", s1DB, p1DB, p2DB)
			h.finish(h.onlyJob(p1DB).ID, tt.status)
			wantDeployed(t, h, "a1", tt.want...)
		})
	}
}

func TestEngine_VersionDependencies_Explained(t *testing.T) {
	h := newHarness(t)
	stages(h, "api", "db")
	h.must("deployment-version.created", dependentVersion("a1", t0, `version.tag.startsWith("v2")`))
	h.must("deployment-version.created", map[string]any{"id": "d1", "name": "v1.9", "tag": "v1.9", "deploymentId": "db",
		"createdAt": t0})
	h.finish(h.onlyJob(p1DB).ID, model.JobSuccessful)

	tests := []struct {
		target  string
		allowed bool
		msg     string
	}{
		{p1Prod, false, `version a1 waits on p1 for db to run a version matching "version.tag.startsWith(\"v2\")" (it runs v1.9)`},
		{p2Prod, false, "version a1 waits on p2 for db to deploy successfully (it has not yet)"},
	}
	for _, tt := range tests {
		ev, err := h.eng.Evaluate(h.snapshot(), tt.target, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Checks) != 1 {
			t.Fatalf("%s: checks = %+v, want the dependency check", tt.target, ev.Checks)
		}
		c := ev.Checks[0]
		if c.Kind != policy.KindVersionDependency || c.Allowed != tt.allowed || c.Message != tt.msg || ev.Message != tt.msg {
			t.Errorf("%s: check %+v (evaluation message %q), want allowed=%v %q", tt.target, c, ev.Message, tt.allowed, tt.msg)
		}
	}
}

// TestEngine_VersionDependencies_Skip: a policy skip of the check's rule id
// lifts the version's dependencies.
func TestEngine_VersionDependencies_Skip(t *testing.T) {
	h := newHarness(t)
	stages(h, "api", "db")
	h.must("deployment-version.created", dependentVersion("a1", t0, "true"))
	wantDeployed(t, h, "a1")
	h.must("policy-skip.created", map[string]any{"id": "sk", "versionId": "a1", "environmentId": "prod",
		"ruleId": policy.VersionDependencyRuleID, "reason": "incident", "createdBy": "ops"})
	wantDeployed(t, h, "a1", p1Prod, p2Prod)
}

func TestEngine_VersionDependencies_Refused(t *testing.T) {
	tests := []struct {
		name  string
		deps  map[string]any
		field string
	}{
		{"its own deployment", map[string]any{"api": map[string]any{"versionSelector": "true"}}, "deploymentVersion.dependencies.api"},
		{"a deployment that does not exist", map[string]any{"nope": map[string]any{"versionSelector": "true"}}, "deploymentVersion.dependencies.nope"},
		{"an empty selector", map[string]any{"db": map[string]any{"versionSelector": ""}}, "deploymentVersion.dependencies.db.versionSelector"},
		{"a selector that does not compile", map[string]any{"db": map[string]any{"versionSelector": "version.tga == 'x'"}},
			"deploymentVersion.dependencies.db.versionSelector"},
		{"a field dependencies do not have", map[string]any{"db": map[string]any{"selector": "true"}}, "deploymentVersion.dependencies.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h, "api", "db")
			v := versionOf("a1", "api", t0)
			v["dependencies"] = tt.deps
			err := h.apply("deployment-version.created", v)
			if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("want EINVALID naming %s, got %v", tt.field, err)
			}
			wantDeployed(t, h, "a1")
		})
	}
}

// TestEngine_DeploymentDependencyOnVersion: dependsOn may read the
// upstream's current version on the resource.
func TestEngine_DeploymentDependencyOnVersion(t *testing.T) {
	const dependsOn = `deployment.name == "db" && version.tag.startsWith("v2")`
	tests := []struct {
		name    string
		dbTags  []string // db versions, newest first; the newest is deployed
		status  string
		want    []string
		message string // of api's rule on p1 afterwards
	}{
		{"the upstream at an accepted version opens the resource", []string{"v2.0"}, model.JobSuccessful,
			[]string{p1Prod}, "db deployed successfully on p1"},
		{"at another version it waits, saying which", []string{"v1.5", "v2.0"}, model.JobSuccessful, nil,
			"db (it runs v1.5, which dependsOn does not accept)"},
		{"with no version it could accept it waits for one", []string{"v1.5"}, model.JobSuccessful, nil,
			fmt.Sprintf("no deployment has a version that dependsOn %q accepts yet", dependsOn)},
		{"an accepted version that failed does not", []string{"v2.0"}, model.JobFailure, nil,
			"db (its latest job ended with status failure)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h, "api", "db")
			h.must("policy.created", policyOf("dep", `deployment.name == "api"`,
				map[string]any{"id": "r", "deploymentDependency": map[string]any{"dependsOn": dependsOn}}))
			h.must("deployment-version.created", versionOf("a1", "api", t0))
			for i, tag := range tt.dbTags {
				h.must("deployment-version.created", map[string]any{"id": "d" + tag, "name": tag, "tag": tag,
					"deploymentId": "db", "createdAt": t0.Add(-time.Duration(i) * time.Minute)})
			}
			newest := "d" + tt.dbTags[0]
			for _, j := range h.jobsOn(p1DB) {
				if jobVersion(j) == newest {
					h.finish(j.ID, tt.status)
				}
			}
			wantDeployed(t, h, "a1", tt.want...)
			ev, err := h.eng.Evaluate(h.snapshot(), p1Prod, "a1")
			if err != nil {
				t.Fatal(err)
			}
			if msg := ev.Policies[0].Results[0].Message; !strings.Contains(msg, tt.message) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.message)
			}
		})
	}
	t.Run("a field versions do not have is refused", func(t *testing.T) {
		h := newHarness(t)
		stages(h, "api", "db")
		err := h.apply("policy.created", policyOf("dep", "true",
			map[string]any{"id": "r", "deploymentDependency": map[string]any{"dependsOn": `version.tga == "x"`}}))
		if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), "deploymentDependency.dependsOn") {
			t.Fatalf("want EINVALID naming dependsOn, got %v", err)
		}
	})
}
