package engine

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Composite identities (release targets, resource variables, approvals)
// are keys of their parts (model.CompositeKey). Callers may also name them
// by their dashed wire form, "resourceId-environmentId-deploymentId" or
// "resourceId-key", which is read where it is unambiguous.

// FindTarget returns the release target a caller names by key: its
// identity or its wire form "resourceId-environmentId-deploymentId".
func FindTarget(r store.Reader, key string) (*model.ReleaseTarget, error) {
	return FindComposite(r, store.ReleaseTargets, key, 3, "release target")
}

// FindComposite returns the entity of table t, whose keys are composite
// keys of n parts, that a caller names by key: its identity, or its wire
// form with the parts joined by dashes. The wire form is read by trying
// every way of cutting it in n at dashes; when more than one cut names an
// entity (ids containing dashes), the key is ambiguous and refused with
// EINVALID naming the candidates, so that a caller never acts on an entity
// it did not mean.
func FindComposite[T any](r store.Reader, t *store.Table[T], key string, n int, what string) (*T, error) {
	if v, err := t.Get(r, key); err == nil {
		return v, nil
	}
	var found []*T
	var names []string
	cuts(key, n, func(parts []string) {
		if v, err := t.Get(r, model.CompositeKey(parts...)); err == nil {
			found = append(found, v)
			names = append(names, "("+strings.Join(parts, ", ")+")")
		}
	})
	switch len(found) {
	case 0:
		return nil, model.Errorf(model.ENOTFOUND, "%s %q not found", what, key)
	case 1:
		return found[0], nil
	}
	return nil, model.Invalid("key", "%s key %q is ambiguous: it names %s; name the parts instead",
		what, key, strings.Join(names, " and "))
}

// cuts calls fn with every way of cutting s in n parts at dashes.
func cuts(s string, n int, fn func(parts []string)) {
	parts := make([]string, 0, n)
	var rec func(rest string)
	rec = func(rest string) {
		if len(parts) == n-1 {
			fn(append(parts, rest))
			return
		}
		for i := strings.IndexByte(rest, '-'); i >= 0; {
			parts = append(parts, rest[:i])
			rec(rest[i+1:])
			parts = parts[:len(parts)-1]
			j := strings.IndexByte(rest[i+1:], '-')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	rec(s)
}
