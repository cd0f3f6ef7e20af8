package variables

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/engine/relations"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// Input is everything Resolve needs for one release target. Resolve only
// reads it; the maps and entities may be shared with the store.
type Input struct {
	// Variables are the keys the deployment declares, with their defaults.
	// When two declare the same key, the first one listed wins.
	Variables []*model.DeploymentVariable
	// Values are the deployment variable values, by deployment variable id,
	// in any order.
	Values map[string][]*model.DeploymentVariableValue
	// ResourceVars are the target resource's variables, by key.
	ResourceVars map[string]*model.ResourceVariable
	// Sets are the variable sets whose selector picks the target, in any
	// order.
	Sets []*model.VariableSet
	// Resource is the target's resource as a selector map; value selectors
	// (JSON and CEL) are evaluated against it.
	Resource map[string]any
	// Environment is the target's environment as a selector map, visible to
	// CEL value selectors as "environment".
	Environment map[string]any
	// Deployment is the deployment as a selector map, visible to CEL value
	// selectors as "deployment".
	Deployment map[string]any
	// Resolve returns the first entity related to the target's resource under
	// a relationship rule reference name, as a map of its JSON fields, and
	// false when there is none. Nil means no reference ever resolves.
	Resolve func(reference string) (map[string]any, bool)
	// Decrypt returns the clear text of a sensitive value. It is called only
	// for the candidate that is used, never for ones skipped or shadowed.
	// Nil makes any sensitive value that is reached an error.
	Decrypt func(*model.SensitiveValue) (string, error)
}

// Result is the resolved variables of one release target.
type Result struct {
	// Values holds each resolved key's value in clear text, for the job's
	// dispatch context. It is never nil. A key that resolves nowhere is
	// absent. Literals are shared with Input (stored values), so treat them
	// as read-only; referenced values are copies.
	Values map[string]model.LiteralValue
	// Sensitive lists, sorted, the keys of Values whose value came from a
	// sensitive value, so that a release can record which variables are
	// secret (encryptedVariables) and keep their clear text out of storage
	// and the read API. Nil when there are none.
	Sensitive []string
}

// Resolve resolves every declared variable of in (see the package
// documentation for the order and the fall-through rules).
//
// It returns an error only when a value's resourceSelector does not compile
// (selectors are checked when written, so this means stored data bypassed
// validation) or when decrypting a sensitive value fails or Decrypt is nil;
// the error names the key. It has no side effects and is safe to call
// concurrently if Resolve and Decrypt are.
func Resolve(in Input) (Result, error) {
	res := Result{Values: make(map[string]model.LiteralValue, len(in.Variables))}
	r := resolver{in: in, sets: sortedSets(in.Sets), vars: map[string]any{
		"resource": in.Resource, "deployment": in.Deployment, "environment": in.Environment,
	}}
	done := make(map[string]bool, len(in.Variables))
	for _, v := range in.Variables {
		if v == nil || done[v.Key] {
			continue
		}
		done[v.Key] = true
		val, sensitive, ok, err := r.key(v)
		if err != nil {
			return Result{}, fmt.Errorf("variable %s: %w", v.Key, err)
		}
		if !ok {
			continue
		}
		res.Values[v.Key] = val
		if sensitive {
			res.Sensitive = append(res.Sensitive, v.Key)
		}
	}
	slices.Sort(res.Sensitive)
	return res, nil
}

// resolver carries one Resolve call's input and the selector variables, built
// once for all keys.
type resolver struct {
	in   Input
	sets []*model.VariableSet
	vars map[string]any
}

// key walks one variable's candidates in order and returns the first that
// resolves; ok is false when none does.
func (r *resolver) key(v *model.DeploymentVariable) (val model.LiteralValue, sensitive, ok bool, err error) {
	if rv := r.in.ResourceVars[v.Key]; rv != nil {
		if val, sensitive, ok, err = r.value(rv.Value); ok || err != nil {
			return val, sensitive, ok, err
		}
	}
	for _, dv := range sortedValues(r.in.Values[v.ID]) {
		m, err := selectorFor(dv.ResourceSelector)
		if err != nil {
			return model.LiteralValue{}, false, false, fmt.Errorf("value %s: resourceSelector: %w", dv.ID, err)
		}
		if m != nil && !m.Match(r.vars) {
			continue
		}
		if val, sensitive, ok, err = r.value(dv.Value); ok || err != nil {
			return val, sensitive, ok, err
		}
	}
	for _, set := range r.sets {
		sv, has := set.Lookup(v.Key)
		if !has {
			continue
		}
		if val, sensitive, ok, err = r.value(sv); ok || err != nil {
			return val, sensitive, ok, err
		}
	}
	if v.DefaultValue != nil {
		return *v.DefaultValue, false, true, nil
	}
	return model.LiteralValue{}, false, false, nil
}

// selectorFor compiles a value's selector; nil (with no error) means the
// value has no selector and applies to every resource.
func selectorFor(s *model.Selector) (*selector.Matcher, error) {
	if s == nil {
		return nil, nil
	}
	return selector.ResourceEnv().Compile(s)
}

// sortedValues returns values highest priority first, ties by id ascending,
// without reordering the caller's slice (it may be the store's).
func sortedValues(values []*model.DeploymentVariableValue) []*model.DeploymentVariableValue {
	return byPriority(values, func(v *model.DeploymentVariableValue) (int64, string) { return v.Priority, v.ID })
}

// sortedSets returns variable sets highest priority first, ties by id
// ascending, without reordering the caller's slice.
func sortedSets(sets []*model.VariableSet) []*model.VariableSet {
	return byPriority(sets, func(s *model.VariableSet) (int64, string) { return s.Priority, s.ID })
}

// byPriority returns the non-nil items highest priority first, ties by id
// ascending, in a new slice.
func byPriority[T any](items []*T, key func(*T) (priority int64, id string)) []*T {
	out := make([]*T, 0, len(items))
	for _, v := range items {
		if v != nil {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *T) int {
		pa, ia := key(a)
		pb, ib := key(b)
		return cmp.Or(cmp.Compare(pb, pa), cmp.Compare(ia, ib))
	})
	return out
}

// errNoDecrypt reports a sensitive value reached without a Decrypt function,
// a wiring mistake that must not silently drop a secret.
var errNoDecrypt = errors.New("sensitive value but no decrypt function")

// value resolves one candidate. ok is false when it does not resolve: an
// unresolvable reference, or a Value with nothing set.
func (r *resolver) value(v model.Value) (val model.LiteralValue, sensitive, ok bool, err error) {
	switch {
	case v.Sensitive != nil:
		if r.in.Decrypt == nil {
			return model.LiteralValue{}, false, false, errNoDecrypt
		}
		clear, err := r.in.Decrypt(v.Sensitive)
		if err != nil {
			return model.LiteralValue{}, false, false, fmt.Errorf("decrypt: %w", err)
		}
		return model.LiteralValue{V: clear}, true, true, nil
	case v.Reference != nil:
		val, ok := r.reference(v.Reference)
		return val, false, ok, nil
	case v.Literal != nil:
		return *v.Literal, false, true, nil
	}
	return model.LiteralValue{}, false, false, nil
}

// reference resolves a reference value through the caller's resolver and
// relations.Lookup.
func (r *resolver) reference(ref *model.ReferenceValue) (model.LiteralValue, bool) {
	if r.in.Resolve == nil {
		return model.LiteralValue{}, false
	}
	entity, ok := r.in.Resolve(ref.Reference)
	if !ok {
		return model.LiteralValue{}, false
	}
	v, ok := relations.Lookup(entity, ref.Path)
	if !ok {
		return model.LiteralValue{}, false
	}
	return model.LiteralValue{V: literal(v)}, true
}
