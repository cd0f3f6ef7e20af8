package verification

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxBody bounds how much of a response is read: a URL that points at a
// large download by mistake must not exhaust the engine's memory.
const maxBody = 4 << 20

const defaultTimeout = 30 * time.Second

var httpMethods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodHead: true, http.MethodOptions: true,
}

// HTTPProvider requests a URL and exposes the response to the conditions.
// A non-2xx status is a measurement, not an error: conditions decide
// (e.g. `result.ok` or `result.statusCode == 503`).
type HTTPProvider struct {
	Method  string
	URL     string
	Headers map[string]string
	Body    string
	Timeout time.Duration
	deps    Deps
}

func parseHTTP(r *specReader, deps Deps) Provider {
	p := &HTTPProvider{deps: deps, Headers: map[string]string{}}
	p.URL = r.str("url", true)
	if p.URL != "" {
		checkURL(r, "url", p.URL)
	}
	p.Method = strings.ToUpper(r.str("method", false))
	if p.Method == "" {
		p.Method = http.MethodGet
	} else if !httpMethods[p.Method] && !r.deferred(p.Method) {
		r.fail("method", "unsupported method %q", p.Method)
	}
	p.Body = r.str("body", false)
	p.Timeout = r.timeout("timeout", defaultTimeout)
	if h := r.sub("headers"); h != nil {
		for _, k := range slices.Sorted(maps.Keys(h.m)) { // sorted: stable error order
			p.Headers[k] = h.str(k, false)
		}
		r.errs = append(r.errs, h.errs...)
	}
	return p
}

// checkURL rejects addresses that could never be requested, at write time
// rather than at every measurement.
func checkURL(r *specReader, key, raw string) {
	if r.deferred(raw) {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(key, "must be an absolute http(s) URL")
	}
}

// Measure performs the request. The result has statusCode, body, ok (2xx)
// and, when the body is JSON, json.
func (p *HTTPProvider) Measure(ctx context.Context) (map[string]any, error) {
	var body io.Reader
	if p.Body != "" {
		body = strings.NewReader(p.Body)
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, p.Method, p.URL, body)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	code, b, err := do(p.deps.client(), req)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	res := map[string]any{
		"statusCode": int64(code),
		"body":       string(b),
		"ok":         code >= 200 && code < 300,
	}
	if v, ok := parseJSON(b); ok {
		res["json"] = v
	}
	return res, nil
}

// do sends req and reads at most maxBody bytes of the response.
func do(c *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, b, nil
}

// parseJSON decodes b when it holds exactly one JSON value; an empty or
// non-JSON body leaves result.json absent rather than failing the
// measurement, since plain-text health endpoints are common.
func parseJSON(b []byte) (any, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, false
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, false
	}
	return v, true
}
