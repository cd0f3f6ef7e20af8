package verification

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PrometheusProvider runs a PromQL query through the Prometheus HTTP API
// (/api/v1/query, or /api/v1/query_range when Range is set).
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

// promResponse is the envelope of every Prometheus HTTP API response.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// Measure runs the query. The result has value (the first sample: scalar
// value, first vector sample, or last point of the first matrix series;
// absent when the query returned no data, so conditions on it are false)
// and results, a list of {metric, value} (plus values for range queries).
func (p *PrometheusProvider) Measure(ctx context.Context) (map[string]any, error) {
	now := p.deps.now()
	q := url.Values{"query": {p.Query}}
	path := "/api/v1/query"
	if p.Range != nil {
		path = "/api/v1/query_range"
		q.Set("start", promTime(now.Add(-p.Range.Start)))
		q.Set("end", promTime(now.Add(-p.Range.End)))
		q.Set("step", strconv.FormatFloat(p.Range.Step.Seconds(), 'f', -1, 64))
	} else {
		q.Set("time", promTime(now))
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimRight(p.Address, "/")+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if p.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+p.BearerToken)
	}
	for _, h := range p.Headers {
		req.Header.Set(h[0], h[1])
	}
	code, body, err := do(p.deps.client(), req)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	// Prometheus reports query errors as JSON on 4xx/5xx, so decode first
	// and fall back to the HTTP status only when the body is not its JSON.
	var pr promResponse
	if err := json.Unmarshal(body, &pr); err != nil || pr.Status == "" {
		return nil, fmt.Errorf("prometheus: unexpected response (HTTP %d): %s", code, snippet(body))
	}
	if pr.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s: %s", pr.ErrorType, pr.Error)
	}
	return promResult(pr.Data.ResultType, pr.Data.Result)
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// promSample is a [unixSeconds, "value"] pair; Prometheus sends values as
// strings so NaN and ±Inf survive JSON.
type promSample [2]any

func (s promSample) value() (float64, error) {
	str, ok := s[1].(string)
	if !ok {
		return 0, fmt.Errorf("prometheus: sample value %v is not a string", s[1])
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return 0, fmt.Errorf("prometheus: sample value %q: %w", str, err)
	}
	return f, nil
}

func promResult(typ string, raw json.RawMessage) (map[string]any, error) {
	res := map[string]any{"resultType": typ}
	results := []any{}
	switch typ {
	case "scalar":
		var s promSample
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("prometheus: decode scalar: %w", err)
		}
		v, err := s.value()
		if err != nil {
			return nil, err
		}
		res["value"] = v
	case "vector":
		var vec []struct {
			Metric map[string]any `json:"metric"`
			Value  promSample     `json:"value"`
		}
		if err := json.Unmarshal(raw, &vec); err != nil {
			return nil, fmt.Errorf("prometheus: decode vector: %w", err)
		}
		for i, e := range vec {
			v, err := e.Value.value()
			if err != nil {
				return nil, err
			}
			if i == 0 {
				res["value"] = v
			}
			results = append(results, map[string]any{"metric": orEmpty(e.Metric), "value": v})
		}
	case "matrix":
		var mat []struct {
			Metric map[string]any `json:"metric"`
			Values []promSample   `json:"values"`
		}
		if err := json.Unmarshal(raw, &mat); err != nil {
			return nil, fmt.Errorf("prometheus: decode matrix: %w", err)
		}
		for i, e := range mat {
			vals := make([]any, 0, len(e.Values))
			var last float64
			for _, s := range e.Values {
				v, err := s.value()
				if err != nil {
					return nil, err
				}
				vals = append(vals, v)
				last = v
			}
			entry := map[string]any{"metric": orEmpty(e.Metric), "values": vals}
			if len(vals) > 0 {
				entry["value"] = last
				if i == 0 {
					res["value"] = last
				}
			}
			results = append(results, entry)
		}
	default:
		return nil, fmt.Errorf("prometheus: unsupported result type %q", typ)
	}
	res["results"] = results
	return res, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
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
