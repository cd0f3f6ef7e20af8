package verification

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// PrometheusProvider runs a PromQL query through the Prometheus HTTP API
// (/api/v1/query, or /api/v1/query_range when Range is set), with
// Prometheus's own API client.
//
// OAuth2 authentication and "insecure" from the reference are not
// supported: TLS and token fetching belong to the injected http.Client.
type PrometheusProvider struct {
	Address     string
	Query       string
	BearerToken string
	Headers     [][2]string
	Timeout     time.Duration
	// Range, when non-nil, makes the query a range query.
	Range *PromRange
	deps  Deps
}

// PromRange is a range query window relative to now.
type PromRange struct {
	Step, Start, End time.Duration // Start/End are how far back from now
}

func parsePrometheus(r *specReader, deps Deps) Provider {
	p := &PrometheusProvider{deps: deps}
	p.Address = r.str("address", true)
	if p.Address != "" {
		checkURL(r, "address", p.Address)
	}
	p.Query = r.str("query", true)
	p.Timeout = r.timeout("timeout", defaultTimeout)
	if a := r.sub("authentication"); a != nil {
		p.BearerToken = a.str("bearerToken", false)
		if _, ok := a.m["oauth2"]; ok {
			a.fail("oauth2", "is not supported; use bearerToken")
		}
		r.errs = append(r.errs, a.errs...)
	}
	if raw, ok := r.m["headers"]; ok && raw != nil {
		list, isList := raw.([]any)
		if !isList {
			r.fail("headers", "must be a list of {key, value}")
		}
		for i, item := range list {
			m, _ := item.(map[string]any)
			h := &specReader{m: m, prefix: fmt.Sprintf("%s[%d]", r.path("headers"), i)}
			if m == nil {
				r.fail(fmt.Sprintf("headers[%d]", i), "must be an object")
				continue
			}
			p.Headers = append(p.Headers, [2]string{h.str("key", true), h.str("value", false)})
			r.errs = append(r.errs, h.errs...)
		}
	}
	if rq := r.sub("rangeQuery"); rq != nil {
		p.Range = &PromRange{}
		later := false // a duration is a template, judged once rendered
		dur := func(key string, def time.Duration, required bool) time.Duration {
			s := rq.str(key, required)
			if s == "" {
				return def
			}
			if rq.deferred(s) {
				later = true
				return max(def, time.Second)
			}
			d, err := promDuration(s)
			if err != nil {
				rq.fail(key, "%v", err)
			}
			return d
		}
		p.Range.Step = dur("step", 0, true)
		if p.Range.Step <= 0 && len(rq.errs) == 0 {
			rq.fail("step", "must be positive")
		}
		p.Range.Start = dur("start", 10*p.Range.Step, false)
		p.Range.End = dur("end", 0, false)
		if p.Range.Start < p.Range.End && !later {
			rq.fail("start", "must be further back than end")
		}
		r.errs = append(r.errs, rq.errs...)
	}
	return p
}

// Measure runs the query through the Prometheus API client. The result
// has value (the first sample: scalar value, first vector sample, or last
// point of the first matrix series; absent when the query returned no data,
// so conditions on it are false) and results, a list of {metric, value}
// (plus values for range queries).
func (p *PrometheusProvider) Measure(ctx context.Context) (map[string]any, error) {
	client, err := promapi.NewClient(promapi.Config{Address: p.Address, Client: p.httpClient()})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	api := promv1.NewAPI(client)
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	now := p.deps.now()
	var v model.Value
	if p.Range != nil {
		v, _, _, err = api.QueryRange(ctx, p.Query, promv1.Range{
			Start: now.Add(-p.Range.Start), End: now.Add(-p.Range.End), Step: p.Range.Step})
	} else {
		v, _, _, err = api.Query(ctx, p.Query, now)
	}
	if err != nil {
		return nil, promError(err)
	}
	return promResult(v)
}

// httpClient is the provider's client with its authentication and headers
// added to every request, and responses read up to maxBody.
func (p *PrometheusProvider) httpClient() *http.Client {
	c := *p.deps.client()
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &promTransport{base: base, token: p.BearerToken, headers: p.Headers}
	return &c
}

type promTransport struct {
	base    http.RoundTripper
	token   string
	headers [][2]string
}

func (t *promTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Accept", "application/json")
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	for _, h := range t.headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = limitedBody{Reader: io.LimitReader(resp.Body, maxBody), Closer: resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// promError words the client's errors: Prometheus's own (errorType and
// error of its JSON answer) as it sends them, and an answer that is not
// its JSON (a proxy's error page) with the start of its body.
func promError(err error) error {
	var pe *promv1.Error
	if !errors.As(err, &pe) {
		return fmt.Errorf("prometheus: %w", err)
	}
	if pe.Detail != "" {
		return fmt.Errorf("prometheus: unexpected response (%s): %s", pe.Msg, snippet([]byte(pe.Detail)))
	}
	return fmt.Errorf("prometheus: %s: %s", pe.Type, pe.Msg)
}

func promResult(v model.Value) (map[string]any, error) {
	res := map[string]any{"resultType": v.Type().String()}
	results := []any{}
	switch v := v.(type) {
	case *model.Scalar:
		res["value"] = float64(v.Value)
	case model.Vector:
		for i, s := range v {
			if i == 0 {
				res["value"] = float64(s.Value)
			}
			results = append(results, map[string]any{"metric": labels(s.Metric), "value": float64(s.Value)})
		}
	case model.Matrix:
		for i, series := range v {
			vals := make([]any, 0, len(series.Values))
			for _, s := range series.Values {
				vals = append(vals, float64(s.Value))
			}
			entry := map[string]any{"metric": labels(series.Metric), "values": vals}
			if n := len(series.Values); n > 0 {
				last := float64(series.Values[n-1].Value)
				entry["value"] = last
				if i == 0 {
					res["value"] = last
				}
			}
			results = append(results, entry)
		}
	default:
		return nil, fmt.Errorf("prometheus: unsupported result type %q", v.Type())
	}
	res["results"] = results
	return res, nil
}

// labels is a series' label set as the conditions read it.
func labels(m model.Metric) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

// snippet shortens a body for error messages.
func snippet(b []byte) string {
	const n = 200
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
