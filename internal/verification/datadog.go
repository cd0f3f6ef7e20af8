package verification

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const defaultDatadogAddress = "https://api.datadoghq.com"

// datadogAggregators reduce the first series' points to one value; the
// reference's percentile and area need parameters or semantics v1 lacks,
// so they are rejected at write time instead of guessed.
var datadogAggregators = map[string]func([]float64) float64{
	"last": func(p []float64) float64 { return p[len(p)-1] },
	"avg":  mean,
	"mean": mean,
	"min": func(p []float64) float64 {
		m := p[0]
		for _, v := range p[1:] {
			m = math.Min(m, v)
		}
		return m
	},
	"max": func(p []float64) float64 {
		m := p[0]
		for _, v := range p[1:] {
			m = math.Max(m, v)
		}
		return m
	},
	"sum": sum,
	"l2norm": func(p []float64) float64 {
		var s float64
		for _, v := range p {
			s += v * v
		}
		return math.Sqrt(s)
	},
}

func sum(p []float64) float64 {
	var s float64
	for _, v := range p {
		s += v
	}
	return s
}

func mean(p []float64) float64 { return sum(p) / float64(len(p)) }

// DatadogProvider runs a metrics query through Datadog's v1 query API
// (GET /api/v1/query) over the last Window.
//
// The reference's "queries" map is accepted only with a single entry and no
// formula, because the v1 API evaluates one query; formulas need the v2
// timeseries API, which this provider does not speak.
type DatadogProvider struct {
	Address    string
	APIKey     string
	AppKey     string
	Query      string
	Aggregator string
	Window     time.Duration
	Timeout    time.Duration
	deps       Deps
}

func parseDatadog(r *specReader, deps Deps) Provider {
	p := &DatadogProvider{deps: deps}
	// address is a full base URL (tests, proxies); site is a Datadog site
	// name such as datadoghq.eu, which maps to https://api.<site>.
	p.Address = r.str("address", false)
	if p.Address != "" {
		checkURL(r, "address", p.Address)
	} else if site := r.str("site", false); site != "" {
		if strings.Contains(site, "://") {
			p.Address = site
			checkURL(r, "site", site)
		} else {
			p.Address = "https://api." + strings.TrimPrefix(site, "api.")
		}
	} else {
		p.Address = defaultDatadogAddress
	}
	p.APIKey = r.str("apiKey", true)
	p.AppKey = r.str("appKey", true)
	p.Query = r.str("query", false)
	if p.Query == "" {
		if qs := r.sub("queries"); qs != nil {
			if len(qs.m) != 1 {
				r.fail("queries", "must hold exactly one query (formulas are not supported)")
			}
			for k := range qs.m {
				p.Query = qs.str(k, true)
			}
			r.errs = append(r.errs, qs.errs...)
		} else {
			r.fail("query", "is required")
		}
	}
	if f := r.str("formula", false); f != "" {
		r.fail("formula", "is not supported; use a single query")
	}
	p.Aggregator = r.str("aggregator", false)
	if p.Aggregator == "" {
		p.Aggregator = "last"
	} else if datadogAggregators[p.Aggregator] == nil && !r.deferred(p.Aggregator) {
		r.fail("aggregator", "unsupported aggregator %q (want last, avg, mean, min, max, sum or l2norm)", p.Aggregator)
	}
	p.Window = time.Duration(r.intIn("intervalSeconds", 300, 1, 3600, false)) * time.Second
	p.Timeout = r.timeout("timeout", defaultTimeout)
	return p
}

type datadogResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Errors []any  `json:"errors"`
	Series []struct {
		Metric    string        `json:"metric"`
		Scope     string        `json:"scope"`
		Pointlist [][2]*float64 `json:"pointlist"`
	} `json:"series"`
}

// Measure runs the query over [now-Window, now]. The result has value (the
// first series' non-null points reduced by Aggregator; absent when there is
// no data, so conditions on it are false), points (that series' values) and
// seriesCount.
func (p *DatadogProvider) Measure(ctx context.Context) (map[string]any, error) {
	now := p.deps.now()
	q := url.Values{
		"from":  {strconv.FormatInt(now.Add(-p.Window).Unix(), 10)},
		"to":    {strconv.FormatInt(now.Unix(), 10)},
		"query": {p.Query},
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimRight(p.Address, "/")+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("datadog: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("DD-API-KEY", p.APIKey)
	req.Header.Set("DD-APPLICATION-KEY", p.AppKey)
	code, body, err := do(p.deps.client(), req)
	if err != nil {
		return nil, fmt.Errorf("datadog: %w", err)
	}
	var dr datadogResponse
	decodeErr := json.Unmarshal(body, &dr)
	if code >= 400 {
		// Datadog's error bodies are {"errors": ["..."]}; show them when present.
		if decodeErr == nil && len(dr.Errors) > 0 {
			return nil, fmt.Errorf("datadog: HTTP %d: %v", code, dr.Errors)
		}
		return nil, fmt.Errorf("datadog: HTTP %d: %s", code, snippet(body))
	}
	if decodeErr != nil {
		return nil, fmt.Errorf("datadog: decode response: %w", decodeErr)
	}
	if dr.Status == "error" {
		return nil, fmt.Errorf("datadog: %s", dr.Error)
	}
	res := map[string]any{"seriesCount": int64(len(dr.Series))}
	var points []float64
	if len(dr.Series) > 0 {
		for _, pt := range dr.Series[0].Pointlist {
			if pt[1] != nil { // Datadog sends null for empty buckets
				points = append(points, *pt[1])
			}
		}
	}
	list := make([]any, len(points))
	for i, v := range points {
		list[i] = v
	}
	res["points"] = list
	if len(points) > 0 {
		res["value"] = datadogAggregators[p.Aggregator](points)
	}
	return res, nil
}
