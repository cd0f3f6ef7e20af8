package selector

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/interpreter"
)

// Matcher is a compiled selector. It is immutable and safe for concurrent
// use; a nil *Matcher matches nothing.
type Matcher struct {
	env  *Env
	prog cel.Program // set for CEL selectors
	root node        // set for JSON selectors
	// partial is set when prog evaluates partially (CompilePartialCEL).
	partial bool
}

// nothing is shared by every selector that can never match, so callers need
// no nil checks and no evaluation work is done.
var nothing = &Matcher{}

// Match reports whether vars, keyed by variable name, satisfy the selector.
// A variable's value is a map[string]any or a func() map[string]any that
// builds it, called only when the selector reads the variable (and each
// time it does): target maintenance passes the environment and deployment
// beside every resource that way, since most selectors never read them.
// Evaluation errors count as no match; use MatchErr to see them.
func (m *Matcher) Match(vars map[string]any) bool {
	ok, _ := m.MatchErr(vars)
	return ok
}

// MatchErr is Match that also returns evaluation errors (cost limit
// exceeded, non-bool result, a variable that is not a map), for callers that
// surface broken selectors. Missing keys are not errors.
func (m *Matcher) MatchErr(vars map[string]any) (bool, error) {
	switch {
	case m == nil || (m.prog == nil && m.root == nil):
		return false, nil
	case m.root != nil:
		s := vars[m.env.subject]
		if lazy, ok := s.(func() map[string]any); ok {
			s = callLazy(lazy)
		}
		switch s := s.(type) {
		case map[string]any:
			return m.root.match(s), nil
		case nil:
			return false, nil
		default:
			return false, fmt.Errorf("selector: variable %q is %T, want map[string]any", m.env.subject, s)
		}
	}
	out, _, err := m.prog.Eval(activation{env: m.env, vars: vars})
	if err != nil {
		if isMissing(err) {
			return false, nil
		}
		return false, fmt.Errorf("selector: evaluate: %w", err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("selector: result is %s, not bool", out.Type().TypeName())
	}
	return b, nil
}

// isMissing recognises cel-go's missing key/attribute errors. They are
// unexported types, so the message is the only stable handle.
func isMissing(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such key") || strings.Contains(msg, "no such attribute")
}

var emptyMap = map[string]any{}

// activation resolves declared variables straight from the caller's map,
// without copying it, builds lazy ones, and stands in an empty map for
// absent or nil ones so that "resource.name == 'x'" is a plain no match
// rather than an error.
type activation struct {
	env  *Env
	vars map[string]any
}

func (a activation) ResolveName(name string) (any, bool) {
	switch v := a.vars[name].(type) {
	case func() map[string]any:
		if m := callLazy(v); m != nil {
			return m, true
		}
	case map[string]any:
		if v != nil {
			return v, true
		}
	case nil:
	default:
		return v, true // not a map: evaluation reports it
	}
	if _, declared := a.env.varSet[name]; declared {
		return emptyMap, true
	}
	return nil, false
}

func (a activation) Parent() interpreter.Activation { return nil }

// callLazy builds a lazy variable; a nil func is an absent variable.
func callLazy(f func() map[string]any) map[string]any {
	if f == nil {
		return nil
	}
	return f()
}
