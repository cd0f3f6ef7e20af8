// Package templating renders the Go text/templates in job agent configs (and
// verification providers) over a job's dispatch context:
// {{.Resource.Name}}, {{.Release.Version.Tag}}, {{.Variables.replicas}}.
//
// Templates are checked when the config is written (Validate): a template
// that does not parse, or names a field the context does not have, is
// refused then, not discovered when a job is dispatched.
package templating

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Data is what a template sees. Entities are the dispatch context's, with
// variables as plain values (sensitive ones opened when rendering for a
// dispatch).
type Data struct {
	JobID       string
	JobAgent    *model.JobAgent
	Release     *model.Release
	Deployment  *model.Deployment
	Environment *model.Environment
	Resource    *model.Resource
	Version     *model.DeploymentVersion
	Variables   map[string]any
	Workflow    *model.Workflow
	WorkflowJob *model.WorkflowJob
	WorkflowRun *model.WorkflowRun
	// Inputs are a workflow run's inputs, for workflow job templates.
	Inputs map[string]any
	// Matrix is a workflow job's matrix cell: one value per matrix key.
	Matrix map[string]any
}

// FromContext returns the data of a dispatch context; variables are taken
// as given (the caller opens sensitive ones first).
func FromContext(jobID string, dc *model.DispatchContext, variables map[string]any) *Data {
	d := &Data{JobID: jobID, Variables: variables}
	if dc == nil {
		return d
	}
	d.JobAgent, d.Release, d.Deployment, d.Environment = &dc.JobAgent, dc.Release, dc.Deployment, dc.Environment
	d.Resource, d.Version = dc.Resource, dc.Version
	d.Workflow, d.WorkflowJob, d.WorkflowRun = dc.Workflow, dc.WorkflowJob, dc.WorkflowRun
	if dc.WorkflowRun != nil {
		d.Inputs = dc.WorkflowRun.Inputs
	}
	if dc.WorkflowJob != nil {
		d.Matrix = dc.WorkflowJob.Matrix
	}
	return d
}

// sample has every entity present and empty, so that executing a template
// over it fails only for fields that do not exist.
func sample() *Data {
	return &Data{JobAgent: &model.JobAgent{}, Release: &model.Release{Version: &model.DeploymentVersion{}}, Deployment: &model.Deployment{},
		Environment: &model.Environment{}, Resource: &model.Resource{}, Version: &model.DeploymentVersion{},
		Variables: map[string]any{}, Workflow: &model.Workflow{}, WorkflowJob: &model.WorkflowJob{},
		WorkflowRun: &model.WorkflowRun{}, Inputs: map[string]any{}, Matrix: map[string]any{}}
}

// Validate checks every template in a config (strings at any depth) and
// returns an EINVALID error naming the field (field + ".key.sub") of the
// first that does not parse or names a field the context lacks.
func Validate(field string, config map[string]any) error {
	data := sample()
	return walk(field, config, func(path, text string) (string, error) {
		return "", check(path, text, data)
	})
}

// ValidateString checks one template text as Validate checks each string
// of a config, naming field in the error.
func ValidateString(field, text string) error { return check(field, text, sample()) }

// check executes text over the sample. Going on from a key of an open map
// (variables, inputs, a matrix cell: {{.Matrix.node.name}}) finds nothing
// in the empty sample, which is no error: only the context's own types
// can tell a field that does not exist.
func check(field, text string, data *Data) error {
	if !strings.Contains(text, "{{") {
		return nil
	}
	if _, err := execute(text, data); err != nil && !strings.Contains(err.Error(), "nil pointer evaluating interface {}") {
		return model.Invalid(field, "%v", err)
	}
	return nil
}

// Render returns a copy of config with every string rendered over data.
// A string without "{{" is kept as it is. An error names the field.
func Render(config map[string]any, data *Data) (map[string]any, error) {
	out := map[string]any{}
	err := walkInto("", config, out, func(path, text string) (string, error) {
		if !strings.Contains(text, "{{") {
			return text, nil
		}
		s, err := execute(text, data)
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return s, nil
	})
	return out, err
}

// String renders one template text over data.
func String(text string, data *Data) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	return execute(text, data)
}

func execute(text string, data *Data) (string, error) {
	// missingkey=zero: a variable or metadata key that is not set renders
	// empty; only a field missing from the context's types is an error.
	t, err := template.New("config").Option("missingkey=zero").Parse(text)
	if err != nil {
		return "", fmt.Errorf("template does not parse: %s", trimTemplateErr(err))
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template: %s", trimTemplateErr(err))
	}
	// A missing map key renders "<no value>" under missingkey=zero for
	// interface-typed maps; an empty string is what people expect.
	return strings.ReplaceAll(b.String(), "<no value>", ""), nil
}

func trimTemplateErr(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(strings.TrimPrefix(msg, "template: "), "config:")
}

func walk(path string, v any, fn func(path, text string) (string, error)) error {
	switch x := v.(type) {
	case string:
		_, err := fn(path, x)
		return err
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := walk(join(path, k), x[k], fn); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := walk(path+"["+strconv.Itoa(i)+"]", e, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func walkInto(path string, src, dst map[string]any, fn func(path, text string) (string, error)) error {
	for _, k := range slices.Sorted(maps.Keys(src)) {
		v, err := renderValue(join(path, k), src[k], fn)
		if err != nil {
			return err
		}
		dst[k] = v
	}
	return nil
}

func renderValue(path string, v any, fn func(path, text string) (string, error)) (any, error) {
	switch x := v.(type) {
	case string:
		return fn(path, x)
	case map[string]any:
		out := make(map[string]any, len(x))
		return out, walkInto(path, x, out, fn)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := renderValue(path+"["+strconv.Itoa(i)+"]", e, fn)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
