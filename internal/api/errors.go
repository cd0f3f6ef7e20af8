package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// errorBody is the JSON of every error answer.
type errorBody struct {
	// Error is the message for the caller.
	Error string `json:"error"`
	// Code is the model error code (model.EINVALID, …).
	Code string `json:"code"`
	// Field is the path of the input field the error is about, if any.
	Field string `json:"field,omitempty"`
	// Index is the position of the refused event in the request.
	Index *int `json:"index,omitempty"`
	// Applied is, on the events route, how many events of the request were
	// committed before the refusal.
	Applied *int `json:"applied,omitempty"`
}

// statusError is an error whose HTTP status is not the one its code maps
// to: an oversized body (413) and a wrong method (405) are invalid input of
// a kind HTTP names itself.
type statusError struct {
	status int
	err    *model.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// StatusOf is the only mapping from error codes to HTTP statuses; the
// console answers its actions' errors with it too.
func StatusOf(err error) int { return statusOf(err) }

func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	switch model.ErrorCode(err) {
	case model.EINVALID:
		return http.StatusBadRequest
	case model.ENOTFOUND:
		return http.StatusNotFound
	case model.ECONFLICT:
		return http.StatusConflict
	case model.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case model.EUNAUTHORIZED:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// writeError answers the error JSON for err with its status. Internal
// errors are logged in full and answered without their details.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeJSON(w, statusOf(err), s.errorBody(r, err))
}

// writeEventsError answers a refused events request: the error JSON with
// the number of events that stayed applied.
func (s *Server) writeEventsError(w http.ResponseWriter, r *http.Request, err error) {
	body := s.errorBody(r, err)
	applied := 0
	var ee *engine.EventError
	if errors.As(err, &ee) {
		applied = ee.Applied
	}
	body.Applied = &applied
	writeJSON(w, statusOf(err), body)
}

func (s *Server) errorBody(r *http.Request, err error) errorBody {
	status := statusOf(err)
	body := errorBody{Error: err.Error(), Code: model.ErrorCode(err), Field: model.ErrorField(err)}
	if status == http.StatusInternalServerError {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error, body.Field = "internal error", ""
	}
	var ee *engine.EventError
	if errors.As(err, &ee) {
		body.Index = &ee.Index
	}
	return body
}

// errTooLarge is the answer to a body over the limit.
func errTooLarge(limit int64) error {
	return &statusError{status: http.StatusRequestEntityTooLarge,
		err: model.Invalid("body", "is larger than the limit of %d bytes", limit)}
}

// errMethod is the answer to a method a route does not take.
func errMethod(r *http.Request, allow string) error {
	return &statusError{status: http.StatusMethodNotAllowed,
		err: model.Errorf(model.EINVALID, "method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow)}
}

// errNoRoute is the answer to a path no route serves.
func errNoRoute(r *http.Request) error {
	return model.Errorf(model.ENOTFOUND, "no route for %s %s; see /openapi.json", r.Method, r.URL.Path)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An error here is the client gone mid-answer: nothing to tell it, and
	// the request's log line already shows the status it was sent.
	_ = json.NewEncoder(w).Encode(v)
}
