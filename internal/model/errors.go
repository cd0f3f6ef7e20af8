package model

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes shared by every layer. The HTTP API holds the only mapping from
// a code to a status, so lower layers never think in HTTP terms.
const (
	EINVALID      = "invalid"      // the input is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // the named entity does not exist
	ECONFLICT     = "conflict"     // the action is refused in the current state
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) cannot be reached
	EINTERNAL     = "internal"     // a bug or an unexpected failure
	EUNAUTHORIZED = "unauthorized" // the caller did not prove who it is
)

// Error is an error with a machine-readable code and a message meant for the
// caller. Wrap it with %w to add context; ErrorCode still finds it.
type Error struct {
	Code    string
	Message string
	// Field is the path of the input field the error is about
	// ("deployment.jobAgents[0].config"), or "" when it is about no one
	// field.
	Field string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorField returns the Field of the first *Error in err's chain, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrNotFound is returned by lookups that find nothing; they never answer
// (nil, nil).
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "not found"}

// Invalid returns an EINVALID error for one field, as "field: message", so
// that every rejection names what to fix. Field is set to field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: field + ": " + fmt.Sprintf(format, args...), Field: field}
}

// UnknownField returns the EINVALID error for a field name that the object
// at path does not have, suggesting the closest of known when one is near:
// `unknown field "stauts" in deploymentVersion; did you mean "status"?`.
// Its Field is path.name (name alone when path is empty).
func UnknownField(path, name string, known []string) *Error {
	field, in := name, ""
	if path != "" {
		field, in = path+"."+name, " in "+path
	}
	msg := fmt.Sprintf("unknown field %q%s", name, in)
	if near := Closest(name, known, 1); len(near) > 0 && Near(name, near[0]) {
		msg += fmt.Sprintf("; did you mean %q?", near[0])
	}
	return &Error{Code: EINVALID, Message: msg, Field: field}
}

// Closest returns the n candidates nearest to name by edit distance
// (ignoring case), nearest first, ties in name order, however far they
// are; Near tells whether one is close enough to be offered as what was
// meant.
func Closest(name string, candidates []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	all := make([]scored, len(candidates))
	lower := strings.ToLower(name)
	for i, c := range candidates {
		all[i] = scored{c, EditDistance(lower, strings.ToLower(c))}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return all[i].name < all[j].name
	})
	out := make([]string, 0, n)
	for i := 0; i < n && i < len(all); i++ {
		out = append(out, all[i].name)
	}
	return out
}

// Near reports whether candidate is close enough to name to be offered as
// what was meant: at most a third of name's length apart, and at least one
// edit allowed.
func Near(name, candidate string) bool {
	d := EditDistance(strings.ToLower(name), strings.ToLower(candidate))
	return d <= max(1, len(name)/3)
}

// EditDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours ("stauts" is
// one edit from "status"), over bytes.
func EditDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
