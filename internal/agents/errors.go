package agents

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is an agent's failure with what the dispatcher needs to know: can
// trying again help, and when.
type Error struct {
	// Retryable is true when the same attempt may succeed later (the
	// system is down, overloaded, or timed out); false when it never will
	// as it stands (credentials refused, the request rejected).
	Retryable bool
	// RetryAfter, when positive, is how long the system asked us to wait.
	RetryAfter time.Duration
	// StatusCode is the HTTP status of the answer, when there was one.
	StatusCode int
	// Message says what happened, with the system's answer; it becomes the
	// job's message when the job fails. It must not hold secrets.
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Permanent returns a non-retryable error with a formatted message.
func Permanent(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// Retryable returns a retryable error with a formatted message.
func Retryable(format string, args ...any) *Error {
	return &Error{Retryable: true, Message: fmt.Sprintf(format, args...)}
}

// Classify returns err as an *Error: itself when it is one (anywhere in its
// chain), else a retryable error with its text (a transport failure or a
// timeout). Classify(nil) is nil.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Retryable: true, Message: err.Error()}
}

// maxErrorBody bounds how much of an error answer is kept in a message.
const maxErrorBody = 1024

// CheckResponse returns nil for a 2xx answer and otherwise an *Error
// classified the way SPEC §8 says: 408, 429 and 5xx are retryable (429 and
// 503 honour Retry-After in seconds or as an HTTP date), every other status
// is permanent. The message names the system, the status and the start of
// the body. It reads (a bounded part of) the body of a failed answer; the
// caller still closes it.
func CheckResponse(system string, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := fmt.Sprintf("%s answered %s", system, resp.Status)
	if text := strings.TrimSpace(string(body)); text != "" {
		msg += ": " + text
	}
	return StatusError(resp.StatusCode, resp.Header.Get("Retry-After"), msg)
}

// StatusError classifies an HTTP status (with its Retry-After header, if
// any) for clients that read answers themselves (go-github, go-tfe,
// client-go return typed errors carrying the status).
func StatusError(status int, retryAfter, message string) *Error {
	e := &Error{StatusCode: status, Message: message}
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		e.Retryable = true
		e.RetryAfter = parseRetryAfter(retryAfter, time.Now())
	}
	return e
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Wrap returns err classified (see Classify) with what was being done put
// before its message ("create run: terraform cloud answered 401 …"), so the
// job's message says which step failed. Wrap of nil is nil.
func Wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	e := *Classify(err)
	e.Message = what + ": " + e.Message
	return &e
}
