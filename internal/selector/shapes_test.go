package selector

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/cel-go/common/types"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// The maps of entities.go must hold exactly the fields shapes.go declares,
// each with a value of its declared type: a field the checker accepts but
// the map lacks would be a "no such key" at match time, and one the map has
// but the checker refuses could never be selected.
func TestEntityVars_MatchShapes(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	sel := model.CELSelector(`resource.kind == "Cluster"`)
	full := map[string]map[string]any{
		KindResource: ResourceVars(&model.Resource{ID: "r", WorkspaceID: "w", Name: "n", Version: "v", Kind: "k",
			Identifier: "i", Config: map[string]any{"a": 1.0}, Metadata: map[string]string{"env": "prod"},
			ProviderID: "p", CreatedAt: at, UpdatedAt: at, LockedAt: at, DeletedAt: at}),
		KindDeployment: DeploymentVars(&model.Deployment{ID: "d", Name: "n", Slug: "s", Description: "x",
			JobAgentID: "a", JobAgentConfig: map[string]any{"k": "v"},
			JobAgents:        []model.DeploymentJobAgent{{Ref: "a", Config: map[string]any{"k": "v"}, Selector: "true"}},
			ResourceSelector: sel, Metadata: map[string]string{"team": "core"}}),
		KindEnvironment: EnvironmentVars(&model.Environment{ID: "e", Name: "n", Description: "x",
			ResourceSelector: &model.Selector{JSON: map[string]any{"type": "kind"}}, Metadata: map[string]string{"a": "b"},
			CreatedAt: at}),
		KindVersion: VersionVars(&model.DeploymentVersion{ID: "v", Name: "n", Tag: "v1", Config: map[string]any{"a": "b"},
			JobAgentConfig: map[string]any{"a": "b"}, DeploymentID: "d", Status: "ready", Message: "m", CreatedAt: at,
			Metadata: map[string]string{"a": "b"}, CreatedBy: "ci",
			Dependencies: map[string]model.VersionDependency{"db": {VersionSelector: "true"}}}),
		KindRelease: ReleaseVars(&model.Release{ID: "rel", Version: &model.DeploymentVersion{ID: "v", Tag: "v1"},
			Variables:          map[string]model.LiteralValue{"n": {V: json.Number("3")}, "o": {V: map[string]any{"x": json.Number("1.5")}}},
			EncryptedVariables: []string{"secret"},
			ReleaseTarget:      model.ReleaseTarget{ResourceID: "r", EnvironmentID: "e", DeploymentID: "d"}, CreatedAt: at}),
		KindJob: JobVars(&model.Job{ID: "j", ReleaseID: "rel", WorkflowJobID: "wj", JobAgentID: "a",
			JobAgentConfig: map[string]any{"a": "b"}, ExternalID: "x", Status: "successful", Message: "m", TraceToken: "t",
			Metadata: map[string]string{"a": "b"}, DispatchContext: &model.DispatchContext{JobAgentConfig: map[string]any{}},
			CreatedAt: at, UpdatedAt: at, StartedAt: at, CompletedAt: at}),
	}
	empty := map[string]map[string]any{
		KindResource:    ResourceVars(&model.Resource{}),
		KindDeployment:  DeploymentVars(&model.Deployment{}),
		KindEnvironment: EnvironmentVars(&model.Environment{}),
		KindVersion:     VersionVars(&model.DeploymentVersion{}),
		KindRelease:     ReleaseVars(&model.Release{}),
		KindJob:         JobVars(&model.Job{}),
	}
	for kind, typeName := range kindTypes {
		for name, vars := range map[string]map[string]any{"full": full[kind], "empty": empty[kind]} {
			t.Run(kind+"/"+name, func(t *testing.T) {
				if err := conforms(vars, types.NewObjectType(typeName)); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// conforms reports how v fails to be a run-time value of the declared type t.
func conforms(v any, t *types.Type) error {
	switch t.Kind() {
	case types.StringKind:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%T, want string", v)
		}
	case types.DynKind:
	case types.ListKind:
		l, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%T, want []any", v)
		}
		for i, e := range l {
			if err := conforms(e, t.Parameters()[0]); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case types.MapKind:
		if _, ok := v.(map[string]string); ok && t.Parameters()[1] == types.StringType {
			return nil // metadata, as the entity holds it
		}
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%T, want map[string]any", v)
		}
		for k, e := range m {
			if err := conforms(e, t.Parameters()[1]); err != nil {
				return fmt.Errorf("[%q]: %w", k, err)
			}
		}
	case types.StructKind:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%T, want map[string]any", v)
		}
		fields := objects[t.TypeName()]
		for k := range m {
			if _, ok := fields[k]; !ok {
				return fmt.Errorf("%s: field %q is in the map but not declared", t.TypeName(), k)
			}
		}
		for f, ft := range fields {
			e, ok := m[f]
			if !ok {
				return fmt.Errorf("%s: declared field %q is missing from the map", t.TypeName(), f)
			}
			if err := conforms(e, ft); err != nil {
				return fmt.Errorf("%s.%s: %w", t.TypeName(), f, err)
			}
		}
	default:
		return fmt.Errorf("no run-time check for %s", t)
	}
	return nil
}

// Every field of ctrlplane's schema for an entity is declared, so that
// expressions written against ctrlplane compile here too.
func TestFields_CoverCtrlplane(t *testing.T) {
	ctrlplane := map[string][]string{
		KindResource: {"config", "createdAt", "deletedAt", "id", "identifier", "kind", "lockedAt", "metadata",
			"name", "providerId", "updatedAt", "version", "workspaceId"},
		KindDeployment: {"description", "id", "jobAgentConfig", "jobAgentId", "jobAgents", "metadata", "name",
			"resourceSelector", "slug"},
		KindEnvironment: {"createdAt", "description", "id", "metadata", "name", "resourceSelector"},
		KindVersion: {"config", "createdAt", "deploymentId", "id", "jobAgentConfig", "message", "metadata",
			"name", "status", "tag"},
		KindRelease: {"createdAt", "encryptedVariables", "id", "releaseTarget", "variables", "version"},
		KindJob: {"completedAt", "createdAt", "dispatchContext", "externalId", "id", "jobAgentConfig",
			"jobAgentId", "message", "metadata", "releaseId", "startedAt", "status", "traceToken", "updatedAt",
			"workflowJobId"},
	}
	for kind, want := range ctrlplane {
		got, ok := Fields(kind)
		if !ok {
			t.Fatalf("Fields(%q): kind not declared", kind)
		}
		for _, f := range want {
			if !slices.Contains(got, f) {
				t.Errorf("%s: ctrlplane field %q is not declared", kind, f)
			}
		}
	}
	if _, ok := Fields("inputs"); ok {
		t.Error(`Fields("inputs") declared; inputs is an open map`)
	}
}
