package manifest

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/client"
)

// Metadata keys apply writes on the entities it manages.
const (
	// ManagedByKey marks an entity written by apply; prune deletes only
	// entities with this mark.
	ManagedByKey = "gatehouse.dev/managed-by"
	// ManagedByApply is ManagedByKey's value.
	ManagedByApply = "apply"
	// SourceKey records the manifest file an entity came from; prune
	// deletes only entities whose source lies under the paths applied.
	SourceKey = "gatehouse.dev/source"
	// SystemsKey records, on a deployment or an environment, the ids of the
	// systems apply linked it to (comma-separated): the API has no read of
	// links, so this is how apply knows which links it may have to undo.
	SystemsKey = "gatehouse.dev/systems"
)

// Ref is a field of a spec that names another entity; apply replaces the
// name with the entity's id.
type Ref struct {
	// Field is the spec field: "jobAgent", or "jobAgents[].ref" for a field
	// of every element of a list.
	Field string
	// Into is the entity field that receives the id; empty when the
	// reference only scopes another one (a version's deployment) and is not
	// sent.
	Into string
	// Kind is the kind of the entity named.
	Kind string
	// Scope is the spec field of the reference that scopes this one: a
	// version is named within its deployment.
	Scope string
	// Required refuses a spec without the field.
	Required bool
}

// Kind describes one entity kind of the manifests.
type Kind struct {
	// Name is the manifest kind and the prefix of its events
	// ("deployment" for deployment.created).
	Name string
	// Collection is the API collection it is read from.
	Collection string
	// NameFields are the entity fields that hold a name, first the one
	// metadata.name fills; references match any of them (or the id).
	NameFields []string
	// HasID is set when the entity has an "id" field (most do; resource
	// variables and approval records are named by their fields).
	HasID bool
	// Identity returns the key of an entity without an id field.
	Identity func(data map[string]any) string
	// Metadata is set when the entity has a metadata map; only those carry
	// the apply marks.
	Metadata bool
	// Link is the link event prefix ("system-deployment") and the member
	// field of its payload, for kinds linked to systems.
	Link, LinkField string
	// Parent is the entity field naming the entity this one belongs to
	// (a version's deploymentId); names are unique within it.
	Parent string
	// Refs are the spec fields naming other entities.
	Refs []Ref
	// ServerSet are the fields the server fills in when they are absent
	// ("rules[].createdAt"); a diff ignores them and an update sends the
	// stored values back.
	ServerSet []string
	// Defaults fills what a manifest may leave out.
	Defaults func(data map[string]any, name string)
	// Prunable is set when prune may delete entities of this kind (ones it
	// can tell apply made).
	Prunable bool
}

// commonServerSet are fields the server stamps on every kind that has them.
var commonServerSet = []string{"workspaceId", "createdAt", "updatedAt"}

// Filled returns every field the server fills in on entities of the kind:
// the common stamps and the kind's ServerSet.
func (k *Kind) Filled() []string { return append(slices.Clone(commonServerSet), k.ServerSet...) }

// Kinds are every kind a manifest may declare, in the order apply writes
// them: what others refer to comes first, and policies come before anything
// that creates release targets, so that no version slips past a gate that
// is being created in the same apply.
var Kinds = []*Kind{
	{Name: "system", Collection: client.Systems, NameFields: []string{"name"}, HasID: true, Metadata: true, Prunable: true},
	{Name: "job-agent", Collection: client.JobAgents, NameFields: []string{"name"}, HasID: true, Metadata: true, Prunable: true,
		Defaults: func(d map[string]any, _ string) { setDefault(d, "config", map[string]any{}) }},
	{Name: "resource-provider", Collection: client.ResourceProviders, NameFields: []string{"name"}, HasID: true, Metadata: true, Prunable: true},
	{Name: "policy", Collection: client.Policies, NameFields: []string{"name"}, HasID: true, Metadata: true, Prunable: true,
		ServerSet: []string{"rules[].policyId", "rules[].createdAt"}, Defaults: policyDefaults},
	{Name: "relationship-rule", Collection: client.RelationshipRules, NameFields: []string{"name"}, HasID: true, Metadata: true, Prunable: true},
	// A freeze holds jobs like a gate, so it is written before anything
	// that makes targets, and deleted with the policies, last.
	{Name: "freeze", Collection: client.Freezes, NameFields: []string{"name"}, HasID: true, Metadata: true, Prunable: true},
	{Name: "environment", Collection: client.Environments, NameFields: []string{"name"}, HasID: true, Metadata: true, Prunable: true,
		Link: "system-environment", LinkField: "environmentId"},
	{Name: "deployment", Collection: client.Deployments, NameFields: []string{"name", "slug"}, HasID: true, Metadata: true, Prunable: true,
		Link: "system-deployment", LinkField: "deploymentId",
		Refs: []Ref{{Field: "jobAgent", Into: "jobAgentId", Kind: "job-agent"}, {Field: "jobAgents[].ref", Into: "jobAgents[].ref", Kind: "job-agent"}},
		Defaults: func(d map[string]any, name string) {
			setDefault(d, "slug", name)
			setDefault(d, "jobAgentConfig", map[string]any{})
		}},
	{Name: "deployment-variable", Collection: client.DeploymentVariables, NameFields: []string{"key"}, HasID: true, Prunable: true,
		Parent: "deploymentId", Refs: []Ref{{Field: "deployment", Into: "deploymentId", Kind: "deployment", Required: true}}},
	{Name: "deployment-variable-value", Collection: client.DeploymentVariableValues, HasID: true, Prunable: true,
		Parent: "deploymentVariableId", Refs: []Ref{
			{Field: "deployment", Kind: "deployment", Required: true},
			{Field: "variable", Into: "deploymentVariableId", Kind: "deployment-variable", Scope: "deployment", Required: true}}},
	{Name: "variable-set", Collection: client.VariableSets, NameFields: []string{"name"}, HasID: true, Metadata: true, Prunable: true,
		ServerSet: []string{"variables[].id", "variables[].variableSetId"}},
	{Name: "resource", Collection: client.Resources, NameFields: []string{"name", "identifier"}, HasID: true, Metadata: true, Prunable: true,
		ServerSet: []string{"lockedAt", "deletedAt"},
		Refs:      []Ref{{Field: "provider", Into: "providerId", Kind: "resource-provider"}},
		Defaults: func(d map[string]any, name string) {
			setDefault(d, "identifier", name)
			setDefault(d, "config", map[string]any{})
		}},
	{Name: "resource-variable", Collection: client.ResourceVariables, NameFields: []string{"key"}, Prunable: true,
		Parent: "resourceId", Identity: func(d map[string]any) string { return str(d["resourceId"]) + "-" + str(d["key"]) },
		Refs: []Ref{{Field: "resource", Into: "resourceId", Kind: "resource", Required: true}}},
	{Name: "deployment-version", Collection: client.DeploymentVersions, NameFields: []string{"name", "tag"}, HasID: true, Metadata: true, Prunable: true,
		ServerSet: []string{"createdBy"}, // the named token's holder that created it
		Parent:    "deploymentId", Refs: []Ref{{Field: "deployment", Into: "deploymentId", Kind: "deployment", Required: true}},
		Defaults: func(d map[string]any, name string) {
			setDefault(d, "tag", name)
			setDefault(d, "status", "ready")
		}},
	{Name: "workflow", Collection: client.Workflows, NameFields: []string{"name"}, HasID: true,
		ServerSet: []string{"jobs[].workflowId"},
		Refs:      []Ref{{Field: "jobs[].ref", Into: "jobs[].ref", Kind: "job-agent"}}},
	{Name: "policy-skip", Collection: client.PolicySkips, HasID: true, Refs: []Ref{
		{Field: "deployment", Kind: "deployment", Required: true},
		{Field: "version", Into: "versionId", Kind: "deployment-version", Scope: "deployment", Required: true},
		{Field: "environment", Into: "environmentId", Kind: "environment"},
		{Field: "resource", Into: "resourceId", Kind: "resource"},
		{Field: "policy", Kind: "policy"},
		{Field: "rule", Into: "ruleId", Kind: RuleKind, Scope: "policy", Required: true}}},
	{Name: "user-approval-record", Collection: client.UserApprovalRecords,
		Identity: func(d map[string]any) string {
			return str(d["versionId"]) + "-" + str(d["userId"]) + "-" + str(d["environmentId"])
		},
		Refs: []Ref{
			{Field: "deployment", Kind: "deployment", Required: true},
			{Field: "version", Into: "versionId", Kind: "deployment-version", Scope: "deployment", Required: true},
			{Field: "environment", Into: "environmentId", Kind: "environment", Required: true}},
		Defaults: func(d map[string]any, _ string) { setDefault(d, "status", "approved") }},
}

// RuleKind names a policy rule in a reference: its position in the policy's
// rules (0, 1, ...) or its id.
const RuleKind = "policy-rule"

// RuleID is the id apply gives the rule at index i of a policy that names
// none, the same the server would give it.
func RuleID(policyID string, i int) string { return policyID + "-rule-" + strconv.Itoa(i) }

// KindNamed returns the kind called name, or nil.
func KindNamed(name string) *Kind {
	for _, k := range Kinds {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// KindNames lists the kind names, for messages.
func KindNames() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

// Key returns the identity of an entity of this kind.
func (k *Kind) Key(data map[string]any) string {
	if k.Identity != nil {
		return k.Identity(data)
	}
	return str(data["id"])
}

// Names returns the names an entity of this kind answers to.
func (k *Kind) Names(data map[string]any) []string {
	var out []string
	for _, f := range k.NameFields {
		if s := str(data[f]); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func policyDefaults(d map[string]any, _ string) {
	setDefault(d, "enabled", true)
	setDefault(d, "metadata", map[string]any{})
	rules, _ := d["rules"].([]any)
	for i, r := range rules {
		if rule, ok := r.(map[string]any); ok {
			setDefault(rule, "id", RuleID(str(d["id"]), i))
		}
	}
}

func setDefault(d map[string]any, key string, v any) {
	if _, ok := d[key]; !ok {
		d[key] = v
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
