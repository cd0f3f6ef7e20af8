// Package selector compiles and evaluates selectors: {"cel": "..."} CEL
// expressions and {"json": {...}} condition trees (see model.Selector).
//
// # Environments and variables
//
// An Env fixes the set of variable names an expression may use, e.g.
// {resource, deployment, environment}, and gives each a shape the type
// checker knows. A variable named after an entity kind (resource,
// deployment, environment, version, release, job; Config.Kinds can give
// another name, such as a relationship rule's from and to, a kind) is an
// object with that entity's fields (see Fields): a field the entity does not
// have is a compile error ("undefined field 'nmae'"), not a selector that
// silently matches nothing. metadata is map(string, string); config,
// jobAgentConfig, release variables, and any variable named after no kind
// (inputs, result) are open map(string, dyn), where any key compiles.
//
// At run time entities are plain map[string]any, built by ResourceVars,
// DeploymentVars and the other XxxVars functions with exactly the declared
// fields, and passed in a map keyed by variable name; a func() map[string]any
// in its place is called only if the expression reads the variable. A
// variable that is absent or nil at match time is treated as an empty map,
// so expressions over it simply fail to match instead of erroring.
//
// # Subject of JSON selectors
//
// A JSON condition tree describes one entity, not several, so it is evaluated
// against a single variable: the Env's subject. The subject is the first
// variable passed to NewEnv (Config.Subject overrides it): "resource" for
// ResourceEnv, "version" for VersionEnv. CEL selectors ignore the subject and
// see every variable.
//
// # CEL semantics
//
//   - "true" matches everything; "false" and blank text match nothing.
//   - The result type must be bool or dyn; anything else is a compile error.
//   - A missing map key or attribute (resource.metadata["env"] when env is
//     unset) is no match, not an error.
//   - Evaluation is bounded by a cost limit (DefaultCostLimit); exceeding
//     it, or any other runtime error, is no match, and MatchErr reports the
//     error. An expression whose estimated worst-case cost exceeds the limit,
//     with strings, keys, maps and lists within MaxStringSize, MaxKeySize
//     and MaxEntries, does not compile.
//   - Compiled matchers are cached per Env (LRU keyed by selector text).
//
// # JSON condition trees
//
// A node is either a group or a condition:
//
//	{"operator": "and"|"or", "conditions": [node, ...]}
//	{"type": "metadata", "key": K, "operator": OP, "value": "..."}
//	{"type": "name"|"kind"|"identifier"|"version"|"id"|"tag"|"status", "operator": OP, "value": "..."}
//	{"type": "created-at"|"updated-at", "operator": DOP, "value": "<RFC3339>"}
//
// OP is one of equals, not-equals, starts-with, ends-with, contains, regex
// (RE2, unanchored: use ^ and $ to anchor). DOP is one of before, after,
// before-or-on, after-or-on, compared against the entity's createdAt or
// updatedAt (an RFC3339 string or time.Time). Comparisons are case-sensitive.
//
// An empty "and" matches everything and an empty "or" matches nothing, the
// identities of the two operators. A condition on a field the entity lacks
// (or holds as a non-string) never matches, including not-equals, so that
// absent data is never mistaken for a positive match.
//
// Trees are validated when compiled: unknown fields, types or operators,
// wrongly typed values, bad regexes and bad dates are rejected with an error
// naming the path, e.g. selector.json.conditions[1].operator: unknown
// operator "foo".
//
// A nil *model.Selector, and a nil *Matcher, match nothing.
package selector
