package engine

import (
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// compileResourceSelector compiles a selector over resource, deployment and
// environment (JSON selectors look at the resource).
func compileResourceSelector(s *model.Selector) (*selector.Matcher, error) {
	return selector.ResourceEnv().Compile(s)
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
