package engine

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A workflow's inputs stay open maps on the wire (ctrlplane's shapes: key,
// type, default); the engine reads what it acts on. A selector input picks
// entities when the workflow runs: {"key", "type": "resource-selector",
// "default": selector}, or ctrlplane's {"key", "type": "array", "selector":
// {"entityType": "resource"|"environment"|"deployment", "default":
// selector}}. A run gives it a CEL string or a selector, else the default
// applies; templates fan out over the matching entities through their
// matrix.

// Entity types a selector input picks.
const (
	entityResource    = "resource"
	entityEnvironment = "environment"
	entityDeployment  = "deployment"
)

// workflowInput is what the engine reads of one input.
type workflowInput struct {
	key        string
	def        any
	hasDefault bool
	// entityType is set for a selector input; def is then its selector.
	entityType string
}

// selectorEnvs compile a selector input's selector, by entity type; the
// subject of JSON selectors is the entity.
var selectorEnvs = map[string]*selector.Env{
	entityResource:    selector.ResourceEnv(),
	entityEnvironment: environmentEnv,
	entityDeployment:  selector.MustNewEnv("deployment"),
}

// workflowInputs reads a workflow's inputs, refusing (naming the field) a
// missing or repeated key, a selector input of an unknown entity type or
// whose default does not compile.
func workflowInputs(w *model.Workflow) ([]workflowInput, error) {
	var out []workflowInput
	seen := map[string]bool{}
	for i, raw := range w.Inputs {
		field := "workflow.inputs[" + strconv.Itoa(i) + "]"
		key, _ := raw["key"].(string)
		if key == "" {
			return nil, model.Invalid(field+".key", "is required")
		}
		if seen[key] {
			return nil, model.Invalid(field+".key", "%q is used twice", key)
		}
		seen[key] = true
		in := workflowInput{key: key}
		in.def, in.hasDefault = raw["default"]
		typ, _ := raw["type"].(string)
		defField := field + ".default"
		switch sel, isSelector := raw["selector"].(map[string]any); {
		case typ == "resource-selector":
			in.entityType = entityResource
		case typ == "array" && isSelector:
			in.entityType, _ = sel["entityType"].(string)
			in.def, in.hasDefault = sel["default"]
			defField = field + ".selector.default"
			if _, ok := selectorEnvs[in.entityType]; !ok {
				return nil, model.Invalid(field+".selector.entityType", "%q is not one of resource, environment, deployment", in.entityType)
			}
		}
		if in.entityType != "" && in.hasDefault {
			if _, err := inputSelector(defField, in.entityType, in.def); err != nil {
				return nil, err
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// inputSelector reads a selector input's value, a CEL string or a selector
// object, and compiles it for its entity type.
func inputSelector(field, entityType string, v any) (*selector.Matcher, error) {
	var sel *model.Selector
	switch x := v.(type) {
	case string:
		sel = model.CELSelector(x)
	case map[string]any:
		b, err := json.Marshal(x)
		if err == nil {
			sel = &model.Selector{}
			err = json.Unmarshal(b, sel)
		}
		if err != nil {
			return nil, model.Invalid(field, "%v", err)
		}
	default:
		return nil, model.Invalid(field, "must be a CEL string or a selector {\"cel\": …} or {\"json\": …}")
	}
	m, err := selectorEnvs[entityType].Compile(sel)
	if err != nil {
		return nil, model.Invalid(field, "%v", err)
	}
	return m, nil
}

// runInputs are a run's inputs as its templates see them (inputs): selector
// inputs hold their matching entities, as CEL maps; resources keeps the
// matched resources, by input key, to give their jobs.
type runInputs struct {
	values    map[string]any
	resources map[string][]*model.Resource
	// entities holds the keys of the selector inputs.
	entities map[string]bool
}

// resolveInputs fills the run's inputs with the workflow's defaults (the
// run keeps selectors as given) and resolves selector inputs against the
// workspace.
func resolveInputs(r store.Reader, inputs []workflowInput, run *model.WorkflowRun) (runInputs, error) {
	out := runInputs{values: map[string]any{}, resources: map[string][]*model.Resource{}, entities: map[string]bool{}}
	for k, v := range run.Inputs {
		out.values[k] = v
	}
	for _, in := range inputs {
		v, given := run.Inputs[in.key]
		if !given && in.hasDefault {
			v, given = in.def, true
			run.Inputs[in.key] = v
		}
		if in.entityType == "" {
			if given {
				out.values[in.key] = v
			}
			continue
		}
		field := "workflowRun.inputs." + in.key
		if !given {
			return runInputs{}, model.Invalid(field, "is required: a selector of the %ss to run for", in.entityType)
		}
		m, err := inputSelector(field, in.entityType, v)
		if err != nil {
			return runInputs{}, err
		}
		matched, resources := matchEntities(r, in.entityType, m)
		out.values[in.key], out.entities[in.key] = matched, true
		if in.entityType == entityResource {
			out.resources[in.key] = resources
		}
	}
	return out, nil
}

// matchEntities returns the entities of a type that m matches, by name then
// id, as CEL maps (and the resources themselves for resources).
func matchEntities(r store.Reader, entityType string, m *selector.Matcher) ([]any, []*model.Resource) {
	out := []any{}
	switch entityType {
	case entityResource:
		rs := store.Resources.Items(r)
		slices.SortFunc(rs, func(a, b *model.Resource) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
		var matched []*model.Resource
		for _, res := range rs {
			if vars := selector.ResourceVars(res); m.Match(map[string]any{"resource": vars}) {
				out, matched = append(out, vars), append(matched, res)
			}
		}
		return out, matched
	case entityEnvironment:
		es := store.Environments.Items(r)
		slices.SortFunc(es, func(a, b *model.Environment) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
		for _, e := range es {
			if vars := selector.EnvironmentVars(e); m.Match(map[string]any{"environment": vars}) {
				out = append(out, vars)
			}
		}
	case entityDeployment:
		ds := store.Deployments.Items(r)
		slices.SortFunc(ds, func(a, b *model.Deployment) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
		for _, d := range ds {
			if vars := selector.DeploymentVars(d); m.Match(map[string]any{"deployment": vars}) {
				out = append(out, vars)
			}
		}
	}
	return out, nil
}
