package engine

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
)

// maxWorkflowJobs bounds the workflow jobs one run creates: a matrix is a
// product, and a product of a few long lists is easily more jobs than
// anyone meant to start.
const maxWorkflowJobs = 1000

// matrixCell is one combination of a template's matrix: one value per key.
type matrixCell struct {
	values map[string]any
	// resource is the resource a resource-selector input gave the cell.
	resource *model.Resource
	// key identifies the cell within its template, for the workflow job's
	// id: each value as JSON, entities by their id.
	key string
}

// checkMatrix refuses, naming the field, a matrix key whose value is
// neither a list nor the key of an input, more than one key over resource
// inputs (a job runs for one resource), and lists whose product is more
// than a run may create.
func checkMatrix(field string, matrix map[string]any, inputs []workflowInput) error {
	resourceKeys, cells := 0, 1
	for _, k := range slices.Sorted(maps.Keys(matrix)) {
		at := wire.KeyPath(field, k)
		switch v := matrix[k].(type) {
		case []any:
			if _, err := valueKeys(at, v, false); err != nil {
				return err
			}
			cells *= max(len(v), 1)
		case string:
			i := slices.IndexFunc(inputs, func(in workflowInput) bool { return in.key == v })
			if i < 0 {
				return model.Invalid(at, "%q is not the key of an input of the workflow", v)
			}
			if inputs[i].entityType == entityResource {
				resourceKeys++
			}
		default:
			return model.Invalid(at, "must be a list of values or the key of an input holding one")
		}
		if resourceKeys > 1 {
			return model.Invalid(at, "a job runs for one resource: at most one matrix key may take a resource-selector input")
		}
		if cells > maxWorkflowJobs {
			return model.Invalid(field, "makes more than %d jobs", maxWorkflowJobs)
		}
	}
	return nil
}

// matrixCells returns the cells of a template's matrix over a run's
// inputs, keys in sorted order and each key's values in list order; a
// template without a matrix has one empty cell. A key with an empty list
// makes no cell at all.
func matrixCells(field string, matrix map[string]any, in runInputs) ([]matrixCell, error) {
	cells := []matrixCell{{values: map[string]any{}}}
	for _, k := range slices.Sorted(maps.Keys(matrix)) {
		at := wire.KeyPath(field, k)
		values, resources, entities, err := matrixValues(at, matrix[k], in)
		if err != nil {
			return nil, err
		}
		keys, err := valueKeys(at, values, entities)
		if err != nil {
			return nil, err
		}
		if len(cells)*len(values) > maxWorkflowJobs {
			return nil, model.Invalid(field, "makes more than %d jobs", maxWorkflowJobs)
		}
		next := make([]matrixCell, 0, len(cells)*len(values))
		for _, c := range cells {
			for i, v := range values {
				n := matrixCell{values: maps.Clone(c.values), resource: c.resource}
				n.values[k] = v
				if resources != nil {
					n.resource = resources[i]
				}
				n.key = c.key + k + "=" + keys[i] + "\x00"
				next = append(next, n)
			}
		}
		cells = next
	}
	return cells, nil
}

// matrixValues returns the values of one matrix key: its list, or the list
// an input holds (with the resources of a resource-selector input);
// entities says the values are entities of a selector input.
func matrixValues(field string, v any, in runInputs) (values []any, resources []*model.Resource, entities bool, err error) {
	switch x := v.(type) {
	case []any:
		return x, nil, false, nil
	case string:
		list, ok := in.values[x].([]any)
		if !ok {
			return nil, nil, false, model.Invalid("workflowRun.inputs."+x, "must be a list: matrix key %s takes its values", field)
		}
		_, entities = in.entities[x]
		return list, in.resources[x], entities, nil
	}
	return nil, nil, false, model.Invalid(field, "must be a list of values or the key of an input holding one")
}

// valueKeys are the values' parts of cell keys: an entity by its id, any
// other value as its JSON (map keys sorted). A value listed twice would
// make two cells one job, and is refused.
func valueKeys(field string, values []any, entities bool) ([]string, error) {
	keys := make([]string, len(values))
	seen := map[string]bool{}
	for i, v := range values {
		if m, ok := v.(map[string]any); ok && entities {
			id, _ := m["id"].(string)
			keys[i] = "entity:" + id
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, model.Invalid(field, "value %d is not JSON: %v", i, err)
			}
			keys[i] = string(b)
		}
		if seen[keys[i]] {
			return nil, model.Invalid(field, "lists %s twice", keys[i])
		}
		seen[keys[i]] = true
	}
	return keys, nil
}
