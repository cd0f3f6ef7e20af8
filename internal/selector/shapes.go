package selector

import (
	"slices"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Entity kinds whose shape the type checker knows. A variable named after
// one of them (resource, deployment, ...) has that kind's shape unless
// Config.Kinds says otherwise.
const (
	KindResource    = "resource"
	KindDeployment  = "deployment"
	KindEnvironment = "environment"
	KindVersion     = "version"
	KindRelease     = "release"
	KindJob         = "job"
)

// Type names of the declared objects, as CEL error messages show them.
const (
	resourceType      = "gatehouse.Resource"
	deploymentType    = "gatehouse.Deployment"
	jobAgentEntryType = "gatehouse.DeploymentJobAgent"
	environmentType   = "gatehouse.Environment"
	versionType       = "gatehouse.DeploymentVersion"
	releaseType       = "gatehouse.Release"
	releaseTargetType = "gatehouse.ReleaseTarget"
	jobType           = "gatehouse.Job"
)

var (
	// openMap is what config, jobAgentConfig, release variables, workflow
	// inputs and verification results are: any keys, any values.
	openMap = types.NewMapType(types.StringType, types.DynType)
	// metadataMap is every entity's metadata: string keys to string values.
	metadataMap = types.NewMapType(types.StringType, types.StringType)
	stringList  = types.NewListType(types.StringType)
)

// objects declares, per CEL type name, the fields of an entity as the maps of
// entities.go hold them: the entity's JSON fields in Gatehouse plus those of
// the ctrlplane schema, so that expressions written for either compile.
// Timestamps are RFC 3339 strings ("" when unset), read with timestamp().
var objects = map[string]fieldSet{
	resourceType: textFields(
		"id", "workspaceId", "name", "version", "kind", "identifier", "providerId",
		"createdAt", "updatedAt", "lockedAt", "deletedAt",
	).with("config", openMap).with("metadata", metadataMap),
	deploymentType: textFields("id", "name", "slug", "description", "jobAgentId").
		with("jobAgentConfig", openMap).
		with("jobAgents", types.NewListType(types.NewObjectType(jobAgentEntryType))).
		with("resourceSelector", openMap).
		with("metadata", metadataMap),
	jobAgentEntryType: textFields("ref", "selector").with("config", openMap),
	environmentType: textFields("id", "name", "description", "createdAt").
		with("resourceSelector", openMap).with("metadata", metadataMap),
	versionType: textFields("id", "name", "tag", "deploymentId", "status", "message", "createdAt", "createdBy").
		with("config", openMap).with("jobAgentConfig", openMap).with("metadata", metadataMap).
		with("dependencies", openMap),
	releaseType: textFields("id", "createdAt").
		with("version", types.NewObjectType(versionType)).
		with("variables", openMap).
		with("encryptedVariables", stringList).
		with("releaseTarget", types.NewObjectType(releaseTargetType)),
	releaseTargetType: textFields("resourceId", "environmentId", "deploymentId"),
	jobType: textFields(
		"id", "releaseId", "workflowJobId", "jobAgentId", "externalId", "status", "message", "traceToken",
		"createdAt", "updatedAt", "startedAt", "completedAt",
	).with("jobAgentConfig", openMap).with("metadata", metadataMap).with("dispatchContext", openMap),
}

// kindTypes maps each entity kind to its declared object type.
var kindTypes = map[string]string{
	KindResource:    resourceType,
	KindDeployment:  deploymentType,
	KindEnvironment: environmentType,
	KindVersion:     versionType,
	KindRelease:     releaseType,
	KindJob:         jobType,
}

type fieldSet map[string]*types.Type

func textFields(names ...string) fieldSet {
	fs := fieldSet{}
	for _, n := range names {
		fs[n] = types.StringType
	}
	return fs
}

func (fs fieldSet) with(name string, t *types.Type) fieldSet {
	fs[name] = t
	return fs
}

// Fields returns the sorted field names CEL knows for an entity kind, and
// false for a kind it does not declare.
func Fields(kind string) ([]string, bool) {
	name, ok := kindTypes[kind]
	if !ok {
		return nil, false
	}
	return fieldNames(name), true
}

func fieldNames(typeName string) []string {
	fs := objects[typeName]
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// varType is the CEL type of a variable of the given kind: the declared
// object, or an open map for a kind that is not an entity (inputs, result).
func varType(kind string) *types.Type {
	if name, ok := kindTypes[kind]; ok {
		return types.NewObjectType(name)
	}
	return openMap
}

// provider tells the type checker about the declared objects and defers to
// CEL's own registry for everything else. At run time the values stay the
// map[string]any of entities.go: no field has a getter, so the interpreter
// selects fields as map keys, which is what it did when every variable was a
// map(string, dyn).
type provider struct {
	types.Provider
}

func newProvider() (*provider, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	return &provider{Provider: reg}, nil
}

// FindStructType implements types.Provider.
func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := objects[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Provider.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if _, ok := objects[name]; ok {
		return fieldNames(name), true
	}
	return p.Provider.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider. A field the object does not
// declare is not found, which the checker reports as "undefined field".
func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if fs, ok := objects[name]; ok {
		t, ok := fs[field]
		if !ok {
			return nil, false
		}
		return &types.FieldType{Type: t}, true
	}
	return p.Provider.FindStructFieldType(name, field)
}

// NewValue implements types.Provider. Entities are inputs only: an
// expression cannot build one.
func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := objects[name]; ok {
		return types.NewErr("%s cannot be constructed in an expression", name)
	}
	return p.Provider.NewValue(name, fields)
}
