package selector_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// entities returns the CEL variables of one release target with a version
// and a release, built as the engine builds them.
func entities() map[string]any {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	res := &model.Resource{ID: "r-1", Name: "eu-cluster-1", Kind: "Cluster", Identifier: "clusters/eu-1", Version: "k8s/v1",
		Config:   map[string]any{"tier": "gold", "replicas": 3.0, "hosts": []any{"a", "b"}},
		Metadata: map[string]string{"env": "prod", "team": "core", "team-owner": "ana"}, CreatedAt: at}
	ver := &model.DeploymentVersion{ID: "v-1", Name: "api v1.4.2", Tag: "v1.4.2", DeploymentID: "api", Status: "ready",
		Metadata: map[string]string{"channel": "stable"}, CreatedAt: at}
	return map[string]any{
		"resource": selector.ResourceVars(res),
		"deployment": selector.DeploymentVars(&model.Deployment{ID: "api", Name: "api", Slug: "api",
			JobAgents: []model.DeploymentJobAgent{{Ref: "runner", Selector: "true"}}}),
		"environment": selector.EnvironmentVars(&model.Environment{ID: "prod", Name: "prod", CreatedAt: at}),
		"version":     selector.VersionVars(ver),
		"release": selector.ReleaseVars(&model.Release{ID: "rel-1", Version: ver,
			Variables:     map[string]model.LiteralValue{"replicas": {V: json.Number("3")}},
			ReleaseTarget: model.ReleaseTarget{ResourceID: "r-1", EnvironmentID: "prod", DeploymentID: "api"}}),
	}
}

func TestEnv_CompileCEL_TypeChecked(t *testing.T) {
	target := selector.MustNewEnv("release", "version", "resource", "deployment", "environment")
	inputs := selector.MustNewEnv("inputs")
	relation := selector.MustNewEnvConfig(selector.Config{Vars: []string{"from", "to"},
		Kinds: map[string]string{"from": selector.KindResource, "to": selector.KindDeployment}})
	vars := entities()
	tests := []struct {
		name    string
		env     *selector.Env
		expr    string
		want    bool   // the match, when the expression compiles
		wantErr string // part of the compile error
	}{
		{"typo in an environment field", target, `environment.nmae == "prod"`, false, "<input>:1:12: undefined field 'nmae'"},
		{"typo in a resource field", target, `resource.kidn == "Cluster"`, false, "undefined field 'kidn'"},
		{"field of another entity", target, `deployment.kind == "Cluster"`, false, "undefined field 'kind'"},
		{"typo in a nested object", target, `release.version.tga == "v1"`, false, "undefined field 'tga'"},
		{"typo in a list element", target, `deployment.jobAgents.exists(a, a.rfe == "x")`, false, "undefined field 'rfe'"},
		{"metadata is strings", target, `resource.metadata["env"] == 3`, false, "no matching overload"},
		{"a field is a string, not a map", target, `resource.name.first == "x"`, false, "does not support field selection"},
		{"declared fields match", target, `resource.kind == "Cluster" && environment.name == "prod" && deployment.slug == "api"`, true, ""},
		{"metadata is open", target, `resource.metadata["team"] == "core" && resource.metadata.env == "prod"`, true, ""},
		{"config is open", target, `resource.config["tier"] == "gold" && resource.config.replicas > 2`, true, ""},
		{"config nests", target, `resource.config.hosts.exists(h, h == "b")`, true, ""},
		{"missing metadata key is no match", target, `resource.metadata["region"] == "eu"`, false, ""},
		{"missing config key is no match", target, `resource.config.network.id == "vpc-1"`, false, ""},
		{"has on a missing key", target, `has(resource.metadata.region)`, false, ""},
		{"unset timestamp is empty", target, `resource.deletedAt == "" && resource.lockedAt == ""`, true, ""},
		{"timestamps parse", target, `timestamp(resource.createdAt) < timestamp("2026-01-01T00:00:00Z")`, true, ""},
		{"ctrlplane field not in use here", target, `resource.providerId == ""`, true, ""},
		{"version fields", target, `version.tag.matches("^v1\\.") && version.metadata.channel == "stable"`, true, ""},
		{"release nests version and target", target, `release.version.tag == "v1.4.2" && release.releaseTarget.resourceId == "r-1"`, true, ""},
		{"release variables are open, numbers are ints", target, `release.variables.replicas == 3`, true, ""},
		{"job agent entries", target, `deployment.jobAgents.exists(a, a.ref == "runner")`, true, ""},
		{"selector of an entity", target, `deployment.resourceSelector == {}`, true, ""},
		{"true matches all", target, `true`, true, ""},
		{"false matches none", target, `false`, false, ""},
		{"blank matches none", target, ` `, false, ""},
		{"inputs are open", inputs, `inputs.region.code == "eu" || !has(inputs.region)`, true, ""},
		{"from and to have their kinds", relation, `from.kind == "Cluster" && to.slug == "api"`, false, ""},
		{"to is a deployment", relation, `to.kind == "Cluster"`, false, "undefined field 'kind'"},
		{"entities cannot be built", target, `resource == gatehouse.Resource{name: "x"}`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.env.CompileCEL(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CompileCEL(%q) error = %v, want %q", tt.expr, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "selector.cel: ERROR: <input>:") || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q: want one line, starting with selector.cel and the position", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CompileCEL(%q) error: %v", tt.expr, err)
			}
			if got := m.Match(vars); got != tt.want {
				_, err := m.MatchErr(vars)
				t.Errorf("Match() = %v, want %v (error %v)", got, tt.want, err)
			}
		})
	}
}

func TestNewEnvConfig_Kinds(t *testing.T) {
	tests := []struct {
		name    string
		cfg     selector.Config
		wantErr string
	}{
		{"kinds of from and to", selector.Config{Vars: []string{"from", "to"},
			Kinds: map[string]string{"from": "environment", "to": "resource"}}, ""},
		{"unknown kind", selector.Config{Vars: []string{"from"}, Kinds: map[string]string{"from": "cluster"}}, `unknown entity kind "cluster"`},
		{"kind of an undeclared variable", selector.Config{Vars: []string{"from"}, Kinds: map[string]string{"to": "resource"}}, "undeclared variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := selector.NewEnvConfig(tt.cfg)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("NewEnvConfig() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
