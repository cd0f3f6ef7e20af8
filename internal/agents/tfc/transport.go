package tfc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

// answerTransport turns every answer of the Terraform API that is not a
// success into an *agents.Error carrying its status, the delay it asks for
// and the titles and details of its JSON:API errors. go-tfe's own errors do
// not keep the status (a 500 and a 422 are both plain text), and it waits
// out a 429 itself, up to 30 times, inside what must be one attempt; the
// dispatcher needs the status to classify, and owns the retrying.
type answerTransport struct{ base http.RoundTripper }

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// RoundTrip sends the request; a non-2xx/3xx answer becomes an error.
func (t answerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := "terraform API answered " + resp.Status
	if detail := errorDetail(body); detail != "" {
		msg += ": " + detail
	}
	return nil, agents.StatusError(resp.StatusCode, retryAfter(resp.Header), msg)
}

// retryAfter is the answer's Retry-After, or else its X-RateLimit-Reset
// (seconds, fractional), which is what the Terraform API sends with a 429.
func retryAfter(h http.Header) string {
	if v := h.Get("Retry-After"); v != "" {
		return v
	}
	if reset, err := strconv.ParseFloat(h.Get("X-RateLimit-Reset"), 64); err == nil && reset > 0 {
		return strconv.Itoa(int(math.Ceil(reset)))
	}
	return ""
}

// errorDetail reads a JSON:API errors document ({"errors": [{title,
// detail, source: {pointer}}]}); other bodies are kept as text.
func errorDetail(body []byte) string {
	var doc struct {
		Errors []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Source struct {
				Pointer string `json:"pointer"`
			} `json:"source"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) == 0 {
		return strings.TrimSpace(string(body))
	}
	parts := make([]string, 0, len(doc.Errors))
	for _, e := range doc.Errors {
		s := e.Title
		if e.Detail != "" {
			s += ": " + e.Detail
		}
		if e.Source.Pointer != "" {
			s += " (" + e.Source.Pointer + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// classify returns err as an agents error with what was being done. Answers
// of the API are classified by status (answerTransport), requests that got
// no answer are retryable, and anything else is go-tfe refusing to send a
// request (an invalid name), which trying again cannot fix.
func classify(what string, err error) error {
	var ae *agents.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ae), errors.As(err, &ue),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return agents.Wrap(what, err)
	}
	return agents.Permanent("%s: %v", what, err)
}

// notFound reports whether err is the API answering 404.
func notFound(err error) bool { return statusOf(err) == http.StatusNotFound }

func statusOf(err error) int {
	var ae *agents.Error
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}
