// Package relations decides whether two entities are related under a
// relationship rule (SPEC §5). It is pure logic: callers hand it entities as
// map[string]any of their JSON fields (the same maps selectors see) and keep
// the store, the indexes and the caching of compiled rules to themselves.
//
// # Rules
//
// A rule relates an entity of FromType to an entity of ToType (each one of
// resource, deployment, environment) when:
//
//   - the types are the rule's types;
//   - the two are not the same entity (same type and same id): an entity is
//     never related to itself, so a rule like "resources in the same VPC"
//     does not make every resource its own neighbour;
//   - FromSelector holds for the "from" entity and ToSelector for the "to"
//     entity;
//   - the matcher holds: a CEL expression over the variables "from" and "to",
//     which have the shapes of FromType and ToType (from.kind is an error
//     when FromType is deployment), or a list of property comparisons that
//     must all hold.
//
// # Side selectors
//
// FromSelector is evaluated with the entity bound to the variable named by
// FromType (resource.kind == "Cluster" when FromType is resource), and
// ToSelector likewise with ToType. JSON selectors look at that entity.
//
// An absent (nil) side selector means "every entity of that type". This is
// deliberately the opposite of resource selectors on environments and
// deployments, where an absent selector matches nothing (SPEC §2): there a
// missing selector must not silently pull every resource into a release
// target, while here the type already restricts the side and the matcher
// does the real selection, so "no further restriction" is the useful and
// expected reading of an omitted side selector.
//
// # Property matchers
//
// A property is a path into the entity map: ["identifier"],
// ["metadata", "vpc"], ["config", "network", "id"] (see Lookup). Both values
// are compared as strings; numbers and booleans are formatted plainly (3,
// 2.5, true). The operators read "from OP to":
//
//	equals      from == to
//	notEquals   from != to
//	contains    from contains to
//	startsWith  from starts with to
//	endsWith    from ends with to
//	regex       from matches the pattern held by to (RE2, unanchored)
//
// A path that is missing on either side, or that ends at an object, an array
// or null, never matches, not even for notEquals: absent data must not be
// mistaken for a relation.
//
// Because a regex pattern is a property of the "to" entity, not text of the
// rule, it cannot be checked when the rule is compiled. Each rule compiles a
// distinct pattern once and remembers it (bounded); a pattern that does not
// compile never matches.
//
// # Direction
//
// A rule is directional: Related answers for (from, to) only. SPEC §5 says
// both directions are visible from each side; that is the caller's job when
// it lists an entity's relations (ask once as "from" and once as "to").
package relations
