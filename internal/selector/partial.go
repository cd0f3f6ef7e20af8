package selector

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// Outcome is the answer of a partial evaluation: the known variables decide
// the expression, or it depends on the unknown ones.
type Outcome int

// Outcomes of MatchUnknown.
const (
	False Outcome = iota
	True
	Unknown
)

// CompilePartialCEL is CompileCEL for expressions that are also asked
// with some variables not known yet (MatchUnknown): the same checks, and a
// program that evaluates partially. Its Matcher answers Match as any other.
func (e *Env) CompilePartialCEL(expr string) (*Matcher, error) {
	m, err := e.CompileCEL(expr)
	if err != nil || m == nothing {
		return m, err
	}
	key := "p\x00" + expr
	if m, ok := e.cache.get(key); ok {
		return m, nil
	}
	ast, iss := e.cel.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("selector.cel: %s", issueText(iss.Err()))
	}
	prog, err := e.cel.Program(ast, cel.CostLimit(e.costLimit), cel.EvalOptions(cel.OptPartialEval))
	if err != nil {
		return nil, fmt.Errorf("selector.cel: %w", err)
	}
	return e.cache.add(key, &Matcher{env: e, prog: prog, partial: true}), nil
}

// MatchUnknown evaluates the selector with the named variables unknown:
// True or False when the other variables decide it whatever the unknown
// ones hold (`deployment.name == "db" && version.tag == "v2"` is False for
// another deployment), Unknown when the answer depends on them. The
// Matcher must come from CompilePartialCEL. Evaluation errors count as
// False, as in Match.
func (m *Matcher) MatchUnknown(vars map[string]any, unknown ...string) Outcome {
	if m == nil || m.prog == nil {
		return False
	}
	if !m.partial {
		panic("selector: MatchUnknown on a matcher not compiled by CompilePartialCEL")
	}
	patterns := make([]*cel.AttributePatternType, len(unknown))
	for i, name := range unknown {
		patterns[i] = cel.AttributePattern(name)
	}
	act, err := cel.PartialVars(activation{env: m.env, vars: vars}, patterns...)
	if err != nil {
		return False
	}
	out, _, err := m.prog.Eval(act)
	if err != nil {
		return False
	}
	if types.IsUnknown(out) {
		return Unknown
	}
	if b, ok := out.Value().(bool); ok && b {
		return True
	}
	return False
}
