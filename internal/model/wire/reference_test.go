package wire

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// referenceSchema is ctrlplane's workspace engine schema, which the
// project's checkout sits beside (../shared/reference) and does not copy.
const referenceSchema = "shared/reference/ctrlplane-workspace-engine-openapi.json"

// findReference looks for the reference schema in the directories above
// the package; the test is skipped where it is absent.
func findReference(t *testing.T) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, referenceSchema)); err == nil {
			return b
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("%s not found above the package", referenceSchema)
		}
		dir = parent
	}
}

// referenceTypes maps the reference's schema names to the types that read
// them.
var referenceTypes = map[string]reflect.Type{
	"System":                     reflect.TypeFor[model.System](),
	"Deployment":                 reflect.TypeFor[model.Deployment](),
	"DeploymentJobAgent":         reflect.TypeFor[model.DeploymentJobAgent](),
	"Environment":                reflect.TypeFor[model.Environment](),
	"Resource":                   reflect.TypeFor[model.Resource](),
	"ResourceProvider":           reflect.TypeFor[model.ResourceProvider](),
	"JobAgent":                   reflect.TypeFor[model.JobAgent](),
	"DeploymentVersion":          reflect.TypeFor[model.DeploymentVersion](),
	"DeploymentVariable":         reflect.TypeFor[model.DeploymentVariable](),
	"DeploymentVariableValue":    reflect.TypeFor[model.DeploymentVariableValue](),
	"ResourceVariable":           reflect.TypeFor[model.ResourceVariable](),
	"ReferenceValue":             reflect.TypeFor[model.ReferenceValue](),
	"SensitiveValue":             reflect.TypeFor[model.SensitiveValue](),
	"Policy":                     reflect.TypeFor[model.Policy](),
	"PolicyRule":                 reflect.TypeFor[model.PolicyRule](),
	"AnyApprovalRule":            reflect.TypeFor[model.AnyApprovalRule](),
	"EnvironmentProgressionRule": reflect.TypeFor[model.EnvironmentProgressionRule](),
	"GradualRolloutRule":         reflect.TypeFor[model.GradualRolloutRule](),
	"DeploymentWindowRule":       reflect.TypeFor[model.DeploymentWindowRule](),
	"VersionCooldownRule":        reflect.TypeFor[model.VersionCooldownRule](),
	"VersionSelectorRule":        reflect.TypeFor[model.VersionSelectorRule](),
	"DeploymentDependencyRule":   reflect.TypeFor[model.DeploymentDependencyRule](),
	"RetryRule":                  reflect.TypeFor[model.RetryRule](),
	"RollbackRule":               reflect.TypeFor[model.RollbackRule](),
	"VerificationRule":           reflect.TypeFor[model.VerificationRule](),
	"VerificationMetricSpec":     reflect.TypeFor[model.VerificationMetric](),
	"VerificationMetricStatus":   reflect.TypeFor[model.VerificationMetricStatus](),
	"VerificationMeasurement":    reflect.TypeFor[model.VerificationMeasurement](),
	"JobVerification":            reflect.TypeFor[model.JobVerification](),
	"PolicySkip":                 reflect.TypeFor[model.PolicySkip](),
	"UserApprovalRecord":         reflect.TypeFor[model.UserApprovalRecord](),
	"RelationshipRule":           reflect.TypeFor[model.RelationshipRule](),
	"PropertyMatcher":            reflect.TypeFor[model.PropertyMatcher](),
	"PropertiesMatcher":          reflect.TypeFor[model.RelationshipMatcher](),
	"CelMatcher":                 reflect.TypeFor[model.RelationshipMatcher](),
	"Workflow":                   reflect.TypeFor[model.Workflow](),
	"WorkflowJobTemplate":        reflect.TypeFor[model.WorkflowJobTemplate](),
	"WorkflowRun":                reflect.TypeFor[model.WorkflowRun](),
	"WorkflowJob":                reflect.TypeFor[model.WorkflowJob](),
	"Job":                        reflect.TypeFor[model.Job](),
	"Release":                    reflect.TypeFor[model.Release](),
	"ReleaseTarget":              reflect.TypeFor[model.ReleaseTarget](),
	"DispatchContext":            reflect.TypeFor[model.DispatchContext](),
	"SystemDeploymentLink":       reflect.TypeFor[model.SystemDeploymentLink](),
	"SystemEnvironmentLink":      reflect.TypeFor[model.SystemEnvironmentLink](),
}

type schema struct {
	Properties map[string]json.RawMessage `json:"properties"`
	AllOf      []struct {
		Ref        string                     `json:"$ref"`
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"allOf"`
}

// TestReferenceFieldsAreKnown checks that a ctrlplane event stream still
// replays: every field the reference schema gives an entity is a known
// field of the type Gatehouse reads it into.
func TestReferenceFieldsAreKnown(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(findReference(t), &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	for name, typ := range referenceTypes {
		s, ok := schemas[name]
		if !ok {
			t.Errorf("the reference has no schema %s", name)
			continue
		}
		props := map[string]bool{}
		for p := range s.Properties {
			props[p] = true
		}
		for _, part := range s.AllOf {
			for p := range part.Properties {
				props[p] = true
			}
			if part.Ref != "" {
				for p := range schemas[filepath.Base(part.Ref)].Properties {
					props[p] = true
				}
			}
		}
		known := fieldsOf(typ).byName
		for p := range props {
			if _, ok := known[p]; !ok {
				t.Errorf("%s.%s is not a known field of %s", name, p, typ)
			}
		}
	}
}
