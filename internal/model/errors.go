package model

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. The HTTP API holds the only mapping from
// a code to a status, so lower layers never think in HTTP terms.
const (
	EINVALID     = "invalid"     // the input is malformed or breaks a rule
	ENOTFOUND    = "not_found"   // the named entity does not exist
	ECONFLICT    = "conflict"    // the action is refused in the current state
	EUNAVAILABLE = "unavailable" // a dependency (the database) cannot be reached
	EINTERNAL    = "internal"    // a bug or an unexpected failure
)

// Error is an error with a machine-readable code and a message meant for the
// caller. Wrap it with %w to add context; ErrorCode still finds it.
type Error struct {
	Code    string
	Message string
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

// ErrNotFound is returned by lookups that find nothing; they never answer
// (nil, nil).
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "not found"}

// Invalid returns an EINVALID error for one field, as "field: message", so
// that every rejection names what to fix.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: field + ": " + fmt.Sprintf(format, args...)}
}
