package engine

import (
	"log/slog"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// compileResourceSelector compiles a stored selector over resource,
// deployment and environment (JSON selectors look at the resource).
//
// Selectors are checked when written, so a stored one fails to compile only
// when an earlier version of Gatehouse accepted what this one refuses (a
// field its entity lacks, which never matched anything, or an estimated
// cost now over the limit). Such a selector matches nothing, and the
// failure is logged once, rather than failing every event and every
// restart of the workspace.
func compileResourceSelector(logger *slog.Logger, s *model.Selector) *selector.Matcher {
	m, err := selector.ResourceEnv().Compile(s)
	if err != nil {
		reportBroken(logger, "resource selector", s, err)
		return nil // a nil matcher matches nothing
	}
	return m
}

// broken remembers the stored expressions already reported as broken.
var broken sync.Map

// reportBroken logs a stored expression that does not compile, once.
func reportBroken(logger *slog.Logger, what string, expr any, err error) {
	key := what + "\x00" + describe(expr)
	if _, seen := broken.LoadOrStore(key, true); !seen {
		logger.Error("a stored expression does not compile and is treated as stated in docs/operations.md; rewrite it",
			"kind", what, "expression", describe(expr), "err", err)
	}
}

func describe(expr any) string {
	switch x := expr.(type) {
	case *model.Selector:
		if x != nil && x.CEL != nil {
			return *x.CEL
		}
		return "json selector"
	case string:
		return x
	}
	return ""
}

// checkSelector rejects a selector that does not compile (a syntax error, a
// field its entity does not have, an estimated cost over the limit), naming
// the field that holds it. It runs when the entity is written, never at
// match time.
func checkSelector(field string, s *model.Selector, env *selector.Env) error {
	if _, err := env.Compile(s); err != nil {
		return model.Invalid(field, "%v", err)
	}
	return nil
}

// checkCEL rejects a CEL expression that does not compile.
func checkCEL(field, expr string, env *selector.Env) error {
	if _, err := env.CompileCEL(expr); err != nil {
		return model.Invalid(field, "%v", err)
	}
	return nil
}

// Selector environments for the places where CEL appears besides resource
// selectors. Each variable has the shape of the entity it is named after
// (inputs and matrix are open maps), so a field the entity does not have is refused
// when the expression is written. Built once; each is safe for concurrent
// use.
var (
	policyEnv      = selector.MustNewEnv("resource", "deployment", "environment")
	environmentEnv = selector.MustNewEnv("environment")
	jobAgentEnv    = selector.MustNewEnv("release", "deployment", "environment", "resource")
	workflowEnv    = selector.MustNewEnv("inputs", "matrix")
)
