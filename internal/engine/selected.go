package engine

import (
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Freezes and variable sets pick release targets by a CEL expression over
// the target's resource, deployment and environment, as policies do.

// targetMatcher compiles such an expression; it was checked when written.
func targetMatcher(expr string) (*selector.Matcher, error) { return policyEnv.CompileCEL(expr) }

// picks reports whether the expression picks the target.
func picks(expr string, te *targetEntities) (bool, error) {
	m, err := targetMatcher(expr)
	if err != nil {
		return false, err
	}
	return m.Match(te.vars()), nil
}

// markSelected marks every release target that one of exprs picks: a
// change to a freeze or a variable set re-evaluates the targets its old
// selector picked and those its new one picks. Empty expressions pick
// nothing.
func (u *unit) markSelected(exprs ...string) error {
	var ms []*selector.Matcher
	for _, e := range exprs {
		if e == "" {
			continue
		}
		m, err := targetMatcher(e)
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil
	}
	for _, t := range store.ReleaseTargets.Items(u.tx) {
		te, err := loadTarget(u.tx, t)
		if err != nil {
			continue
		}
		vars := te.vars()
		for _, m := range ms {
			if m.Match(vars) {
				u.markTarget(t)
				break
			}
		}
	}
	return nil
}
