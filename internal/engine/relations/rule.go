package relations

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// Selector environments, built on first use and shared so that their
// compiled-program caches are shared too. Each is safe for concurrent use.
var (
	// The side selector of a deployment or environment sees only that
	// entity; a resource side uses the shared resource environment.
	deploymentEnv  = sync.OnceValue(func() *selector.Env { return selector.MustNewEnv(model.EntityDeployment) })
	environmentEnv = sync.OnceValue(func() *selector.Env { return selector.MustNewEnv(model.EntityEnvironment) })
)

// sideEnv returns the environment for a side selector over entityType, whose
// subject (for JSON selectors) is that entity; nil for an unknown type.
func sideEnv(entityType string) *selector.Env {
	switch entityType {
	case model.EntityResource:
		return selector.ResourceEnv()
	case model.EntityDeployment:
		return deploymentEnv()
	case model.EntityEnvironment:
		return environmentEnv()
	}
	return nil
}

// matcherEnvs holds the environments of CEL matchers, one per (fromType,
// toType) pair, so that from and to have the shapes of the rule's types.
var matcherEnvs struct {
	sync.Mutex
	byTypes map[[2]string]*selector.Env
}

// matcherEnv returns the environment of CEL matchers over a fromType and a
// toType, both known entity types.
func matcherEnv(fromType, toType string) (*selector.Env, error) {
	matcherEnvs.Lock()
	defer matcherEnvs.Unlock()
	key := [2]string{fromType, toType}
	if env, ok := matcherEnvs.byTypes[key]; ok {
		return env, nil
	}
	env, err := selector.NewEnvConfig(selector.Config{
		Vars:  []string{"from", "to"},
		Kinds: map[string]string{"from": fromType, "to": toType},
	})
	if err != nil {
		return nil, err
	}
	if matcherEnvs.byTypes == nil {
		matcherEnvs.byTypes = map[[2]string]*selector.Env{}
	}
	matcherEnvs.byTypes[key] = env
	return env, nil
}

// Rule is a compiled relationship rule. It is immutable apart from an
// internal regex cache that is safe for concurrent use, so one *Rule may be
// shared by any number of goroutines. Callers cache it per rule id and
// recompile when the rule changes.
type Rule struct {
	model *model.RelationshipRule
	// from and to are nil when the side selector is absent, which means no
	// restriction (see the package documentation).
	from, to *selector.Matcher
	// At most one of cel and props is used: cel when the rule has a CEL
	// matcher, props otherwise; neither relates every pair.
	cel   *selector.Matcher
	props []propertyMatcher
}

// Compile checks r and compiles its selectors and matcher. It returns an
// EINVALID *model.Error naming the offending field, e.g.
// "relationshipRule.matcher.properties[0].operator: ...", when a type is not
// one of resource, deployment, environment, the matcher has both cel and
// properties (a rule without a matcher relates every pair its selectors
// allow, as ctrlplane reads it), a property path is empty, an operator is unknown,
// or a selector or the CEL matcher does not compile. Identity fields (id,
// reference) are model.RelationshipRule.Validate's concern, not Compile's.
//
// The returned Rule keeps r; r must not be modified afterwards (stored
// values are immutable).
func Compile(r *model.RelationshipRule) (*Rule, error) {
	if r == nil {
		return nil, model.Invalid("relationshipRule", "is required")
	}
	fromEnv, toEnv := sideEnv(r.FromType), sideEnv(r.ToType)
	if fromEnv == nil {
		return nil, model.Invalid("relationshipRule.fromType", "%q is not one of resource, deployment, environment", r.FromType)
	}
	if toEnv == nil {
		return nil, model.Invalid("relationshipRule.toType", "%q is not one of resource, deployment, environment", r.ToType)
	}
	rule := &Rule{model: r}
	var err error
	if rule.from, err = compileSide("relationshipRule.fromSelector", r.FromSelector, fromEnv); err != nil {
		return nil, err
	}
	if rule.to, err = compileSide("relationshipRule.toSelector", r.ToSelector, toEnv); err != nil {
		return nil, err
	}
	m := r.Matcher
	if m.CEL != nil && len(m.Properties) > 0 {
		return nil, model.Invalid("relationshipRule.matcher", "has both cel and properties; give one")
	}
	if m.CEL != nil {
		env, err := matcherEnv(r.FromType, r.ToType)
		if err != nil {
			return nil, fmt.Errorf("relationship rule %s: %w", r.ID, err)
		}
		if rule.cel, err = env.CompileCEL(*m.CEL); err != nil {
			return nil, model.Invalid("relationshipRule.matcher.cel", "%v", err)
		}
		return rule, nil
	}
	// One regex cache per rule, shared by its regex properties: patterns
	// come from entity data, so they can only be compiled as they are met.
	cache := newRegexCache()
	rule.props = make([]propertyMatcher, len(m.Properties))
	for i, p := range m.Properties {
		pm, err := compileProperty(p, cache)
		if err != nil {
			return nil, model.Invalid("relationshipRule.matcher.properties["+strconv.Itoa(i)+"]"+err.field, "%s", err.msg)
		}
		rule.props[i] = pm
	}
	return rule, nil
}

// compileSide compiles a side selector; a nil selector yields a nil matcher,
// which Rule reads as "no restriction".
func compileSide(field string, s *model.Selector, env *selector.Env) (*selector.Matcher, error) {
	if s == nil {
		return nil, nil
	}
	m, err := env.Compile(s)
	if err != nil {
		return nil, model.Invalid(field, "%v", err)
	}
	return m, nil
}

// Model returns the rule Compile was given. Callers must not modify it.
func (r *Rule) Model() *model.RelationshipRule { return r.model }

// FromMatches reports whether entity passes the rule's fromSelector; an
// absent fromSelector passes every entity. It does not check the entity's
// type: that is the caller's job (or Related's).
func (r *Rule) FromMatches(entity map[string]any) bool {
	return sideMatches(r.from, r.model.FromType, entity)
}

// ToMatches reports whether entity passes the rule's toSelector; an absent
// toSelector passes every entity. It does not check the entity's type.
func (r *Rule) ToMatches(entity map[string]any) bool {
	return sideMatches(r.to, r.model.ToType, entity)
}

func sideMatches(m *selector.Matcher, entityType string, entity map[string]any) bool {
	if m == nil {
		return true
	}
	return m.Match(map[string]any{entityType: entity})
}

// Related reports whether the entity (fromType, fromID, from) is related to
// (toType, toID, to) under r: the types are the rule's, the two are not the
// same entity, both side selectors hold and the matcher holds. It is
// directional; ask with the arguments swapped for the other direction.
func (r *Rule) Related(fromType, fromID string, from map[string]any, toType, toID string, to map[string]any) bool {
	if fromType != r.model.FromType || toType != r.model.ToType {
		return false
	}
	if fromType == toType && fromID == toID {
		return false
	}
	if !r.FromMatches(from) || !r.ToMatches(to) {
		return false
	}
	if r.cel != nil {
		return r.cel.Match(map[string]any{"from": from, "to": to})
	}
	for _, p := range r.props {
		if !p.match(from, to) {
			return false
		}
	}
	return true
}
