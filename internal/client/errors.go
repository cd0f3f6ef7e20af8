package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// ErrNoWorkspace is returned by workspace-scoped calls of a client that was
// given no workspace.
var ErrNoWorkspace = errors.New("no workspace given")

// APIError is an answer of the server outside 2xx. Its fields are what the
// server said; Field and Index are empty (nil) when it did not say.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Method and Path are the request's.
	Method, Path string
	// Message is the server's "error" text (or the body, when it was not
	// JSON).
	Message string
	// Code is the server's error code (invalid, not_found, conflict, ...).
	Code string
	// Field names the offending input field.
	Field string
	// Index is the position, in a batch of events, of the event that failed.
	Index *int
}

// Error says what the server answered, in words for a person.
func (e *APIError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return "unauthorized: the server refused the request because the token is missing or wrong"
	}
	msg := e.Message
	if e.Field != "" && !strings.Contains(msg, e.Field) {
		msg = e.Field + ": " + msg
	}
	text := strings.ToLower(http.StatusText(e.Status))
	if text == "" {
		text = "status " + strconv.Itoa(e.Status)
	}
	if msg == "" {
		return text
	}
	return text + ": " + msg
}

// IsStatus reports whether err is an *APIError with the given status.
func IsStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}

// UnreachableError is a request that got no answer from the server.
type UnreachableError struct {
	// Server is the base URL the client talks to.
	Server string
	Err    error
}

// Error names the address that could not be reached.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Gatehouse server at %s: %v", e.Server, e.Err)
}

// Unwrap returns the transport error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// eventPrefix is how the engine names the failed event of a batch in its
// message, for servers that do not send an index field.
var eventPrefix = regexp.MustCompile(`^event (\d+) \([^)]*\): `)

// decodeError reads an error answer: {"error", "code", "field", "index"} as
// far as the server sends them, or the body as text.
func decodeError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	var wire struct {
		Error string          `json:"error"`
		Code  string          `json:"code"`
		Field string          `json:"field"`
		Index json.RawMessage `json:"index"`
	}
	if json.Unmarshal(body, &wire) == nil && wire.Error != "" {
		e.Message, e.Code, e.Field = wire.Error, wire.Code, wire.Field
		var i int
		if len(wire.Index) > 0 && json.Unmarshal(wire.Index, &i) == nil {
			e.Index = &i
		}
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	if m := eventPrefix.FindStringSubmatch(e.Message); m != nil {
		if e.Index == nil {
			if i, err := strconv.Atoi(m[1]); err == nil {
				e.Index = &i
			}
		}
		e.Message = strings.TrimPrefix(e.Message, m[0])
	}
	return e
}
