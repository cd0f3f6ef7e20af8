package verification

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var fixedNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// server starts an httptest server whose handler checks the request and
// answers; failures inside the handler are reported through t.
func server(t *testing.T, h func(t *testing.T, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	calls := new(atomic.Int32) // atomic: a timed-out handler may still run when the client returns
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h(t, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

func deps(srv *httptest.Server) Deps {
	// The test servers listen on loopback, which the guard refuses by default.
	return Deps{Client: srv.Client(), Now: func() time.Time { return fixedNow }, AllowPrivate: true}
}

func TestHTTPProvider(t *testing.T) {
	tests := []struct {
		name    string
		spec    map[string]any
		handler func(t *testing.T, w http.ResponseWriter, r *http.Request)
		check   func(t *testing.T, res map[string]any)
		wantErr string
	}{
		{
			name: "GET JSON body",
			spec: map[string]any{"type": "http", "url": "/health?x=1", "headers": map[string]any{"X-Token": "abc"}},
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/health" || r.URL.Query().Get("x") != "1" {
					t.Errorf("request = %s %s", r.Method, r.URL)
				}
				if got := r.Header.Get("X-Token"); got != "abc" {
					t.Errorf("X-Token = %q", got)
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"status":"up","checks":3}`)
			},
			check: func(t *testing.T, res map[string]any) {
				if res["statusCode"] != int64(200) || res["ok"] != true {
					t.Errorf("res = %v", res)
				}
				j, _ := res["json"].(map[string]any)
				if j["status"] != "up" || j["checks"] != 3.0 {
					t.Errorf("json = %v", res["json"])
				}
			},
		},
		{
			name: "POST with body, non-2xx is a measurement",
			spec: map[string]any{"type": "http", "url": "/hook", "method": "post", "body": "ping", "timeout": "5s"},
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if r.Method != http.MethodPost || string(b) != "ping" {
					t.Errorf("request = %s body %q", r.Method, b)
				}
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "down")
			},
			check: func(t *testing.T, res map[string]any) {
				if res["statusCode"] != int64(503) || res["ok"] != false || res["body"] != "down" {
					t.Errorf("res = %v", res)
				}
				if _, ok := res["json"]; ok {
					t.Errorf("json set for plain body: %v", res)
				}
			},
		},
		{
			name: "timeout is an error",
			spec: map[string]any{"type": "http", "url": "/slow", "timeout": "20ms"},
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			wantErr: "http:",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := server(t, tc.handler)
			tc.spec["url"] = srv.URL + tc.spec["url"].(string)
			p, err := NewProvider(tc.spec, deps(srv))
			if err != nil {
				t.Fatal(err)
			}
			if res, ok := measureOnce(t, p, calls, tc.wantErr); ok {
				tc.check(t, res)
			}
		})
	}
}

// promParams returns the parameters of a Prometheus API request, which
// Prometheus takes as a GET query string or a form-encoded POST body.
func promParams(t *testing.T, r *http.Request) url.Values {
	t.Helper()
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("POST with Content-Type %q", ct)
		}
	default:
		t.Errorf("method %s", r.Method)
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("parse form: %v", err)
	}
	return r.Form
}

// promTimeIs reports whether a Prometheus timestamp (Unix seconds, with or
// without a fraction) is want.
func promTimeIs(s string, want time.Time) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && time.UnixMilli(int64(math.Round(f*1000))).Equal(want)
}

func TestPrometheusProvider(t *testing.T) {
	instant := func(t *testing.T, r *http.Request) {
		t.Helper()
		q := promParams(t, r)
		if r.URL.Path != "/prom/api/v1/query" {
			t.Errorf("request = %s %s", r.Method, r.URL.Path)
		}
		if q.Get("query") != `sum(rate(http_requests_total{code=~"5.."}[5m]))` || !promTimeIs(q.Get("time"), fixedNow) {
			t.Errorf("query params = %v", q)
		}
	}
	tests := []struct {
		name    string
		spec    map[string]any
		handler func(t *testing.T, w http.ResponseWriter, r *http.Request)
		check   func(t *testing.T, res map[string]any)
		wantErr string
	}{
		{
			name: "vector with bearer token and headers",
			spec: map[string]any{
				"authentication": map[string]any{"bearerToken": "tok"},
				"headers":        []any{map[string]any{"key": "X-Scope-OrgID", "value": "tenant_a"}},
			},
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				instant(t, r)
				if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-Scope-OrgID") != "tenant_a" {
					t.Errorf("headers = %v", r.Header)
				}
				io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[
					{"metric":{"job":"api"},"value":[1740830400,"0.25"]},
					{"metric":{"job":"web"},"value":[1740830400,"NaN"]}]}}`)
			},
			check: func(t *testing.T, res map[string]any) {
				if res["value"] != 0.25 {
					t.Errorf("value = %v", res["value"])
				}
				rs := res["results"].([]any)
				second := rs[1].(map[string]any)
				if len(rs) != 2 || second["metric"].(map[string]any)["job"] != "web" || !math.IsNaN(second["value"].(float64)) {
					t.Errorf("results = %v", rs)
				}
			},
		},
		{
			name: "scalar",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				instant(t, r)
				io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1740830400,"42"]}}`)
			},
			check: func(t *testing.T, res map[string]any) {
				if res["value"] != 42.0 {
					t.Errorf("value = %v", res["value"])
				}
			},
		},
		{
			name: "empty vector leaves value absent",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				instant(t, r)
				io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
			},
			check: func(t *testing.T, res map[string]any) {
				if _, ok := res["value"]; ok || len(res["results"].([]any)) != 0 {
					t.Errorf("res = %v", res)
				}
			},
		},
		{
			name: "range query",
			spec: map[string]any{"rangeQuery": map[string]any{"step": "1m", "start": "5m"}},
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				q := promParams(t, r)
				if r.URL.Path != "/prom/api/v1/query_range" || q.Get("step") != "60" ||
					!promTimeIs(q.Get("start"), fixedNow.Add(-5*time.Minute)) || !promTimeIs(q.Get("end"), fixedNow) {
					t.Errorf("request = %s %v", r.URL.Path, q)
				}
				io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[
					{"metric":{},"values":[[1,"1"],[2,"3"]]}]}}`)
			},
			check: func(t *testing.T, res map[string]any) {
				if res["value"] != 3.0 {
					t.Errorf("value = %v", res["value"])
				}
			},
		},
		{
			name: "query error",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				instant(t, r)
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"status":"error","errorType":"bad_data","error":"parse error at char 4"}`)
			},
			wantErr: "prometheus: bad_data: parse error at char 4",
		},
		{
			name: "non-JSON gateway error",
			handler: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, "<html>bad gateway</html>")
			},
			wantErr: "prometheus: unexpected response (server error: 502): <html>bad gateway</html>",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := server(t, tc.handler)
			spec := map[string]any{"type": "prometheus", "address": srv.URL + "/prom/",
				"query": `sum(rate(http_requests_total{code=~"5.."}[5m]))`, "timeout": 5.0}
			for k, v := range tc.spec {
				spec[k] = v
			}
			p, err := NewProvider(spec, deps(srv))
			if err != nil {
				t.Fatal(err)
			}
			if res, ok := measureOnce(t, p, calls, tc.wantErr); ok {
				tc.check(t, res)
			}
		})
	}
}

// TestPrometheusProvider_Fallbacks: a Prometheus (or a proxy before it)
// that refuses POST gets the query as GET, and an answer past the read
// bound fails instead of being read whole.
func TestPrometheusProvider_Fallbacks(t *testing.T) {
	t.Run("GET after 405", func(t *testing.T) {
		var methods []string
		srv, _ := server(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			methods = append(methods, r.Method)
			if r.Method == http.MethodPost {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			if q := r.URL.Query(); q.Get("query") != "up" || !promTimeIs(q.Get("time"), fixedNow) {
				t.Errorf("GET query = %v", q)
			}
			io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1740830400,"1"]}}`)
		})
		p, err := NewProvider(map[string]any{"type": "prometheus", "address": srv.URL, "query": "up"}, deps(srv))
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Measure(context.Background())
		if err != nil || res["value"] != 1.0 || strings.Join(methods, ",") != "POST,GET" {
			t.Errorf("result %v, err %v, methods %v", res, err, methods)
		}
	})
	t.Run("answer over the bound", func(t *testing.T) {
		srv, calls := server(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[`)
			entry := `{"metric":{"pod":"` + strings.Repeat("p", 1000) + `"},"value":[1740830400,"1"]},`
			for range maxBody/len(entry) + 1 {
				io.WriteString(w, entry)
			}
			io.WriteString(w, `{"metric":{},"value":[1740830400,"1"]}]}}`)
		})
		p, err := NewProvider(map[string]any{"type": "prometheus", "address": srv.URL, "query": "up"}, deps(srv))
		if err != nil {
			t.Fatal(err)
		}
		measureOnce(t, p, calls, "prometheus: bad_response")
	})
}

func TestDatadogProvider(t *testing.T) {
	const series = `{"status":"ok","series":[
		{"metric":"errors","scope":"service:api","pointlist":[[1,2],[2,null],[3,8],[4,5]]},
		{"metric":"errors","scope":"service:web","pointlist":[[1,100]]}]}`
	tests := []struct {
		name      string
		spec      map[string]any
		window    time.Duration
		status    int
		body      string
		wantValue any // nil: value absent
		wantErr   string
	}{
		{name: "default last", window: 300 * time.Second, status: 200, body: series, wantValue: 5.0},
		{name: "avg over custom window", spec: map[string]any{"aggregator": "avg", "intervalSeconds": 60.0}, window: time.Minute, status: 200, body: series, wantValue: 5.0},
		{name: "min", spec: map[string]any{"aggregator": "min"}, window: 300 * time.Second, status: 200, body: series, wantValue: 2.0},
		{name: "max", spec: map[string]any{"aggregator": "max"}, window: 300 * time.Second, status: 200, body: series, wantValue: 8.0},
		{name: "sum", spec: map[string]any{"aggregator": "sum"}, window: 300 * time.Second, status: 200, body: series, wantValue: 15.0},
		{name: "queries map with one entry", spec: map[string]any{"query": nil, "queries": map[string]any{"q": "sum:errors{service:api}"}}, window: 300 * time.Second, status: 200, body: series, wantValue: 5.0},
		{name: "no series", window: 300 * time.Second, status: 200, body: `{"status":"ok","series":[]}`},
		{name: "status error", window: 300 * time.Second, status: 200, body: `{"status":"error","error":"Error parsing query"}`, wantErr: "datadog: Error parsing query"},
		{name: "forbidden", window: 300 * time.Second, status: 403, body: `{"errors":["Forbidden"]}`, wantErr: "HTTP 403: [Forbidden]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := server(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				if r.Method != http.MethodGet || r.URL.Path != "/api/v1/query" {
					t.Errorf("request = %s %s", r.Method, r.URL.Path)
				}
				if q.Get("query") != "sum:errors{service:api}" ||
					q.Get("to") != strconv.FormatInt(fixedNow.Unix(), 10) ||
					q.Get("from") != strconv.FormatInt(fixedNow.Add(-tc.window).Unix(), 10) {
					t.Errorf("query params = %v", q)
				}
				if r.Header.Get("DD-API-KEY") != "api-key" || r.Header.Get("DD-APPLICATION-KEY") != "app-key" {
					t.Errorf("headers = %v", r.Header)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			spec := map[string]any{"type": "datadog", "address": srv.URL, "apiKey": "api-key",
				"appKey": "app-key", "query": "sum:errors{service:api}"}
			for k, v := range tc.spec {
				if v == nil {
					delete(spec, k)
				} else {
					spec[k] = v
				}
			}
			p, err := NewProvider(spec, deps(srv))
			if err != nil {
				t.Fatal(err)
			}
			res, measuredOK := measureOnce(t, p, calls, tc.wantErr)
			if !measuredOK {
				return
			}
			if v, ok := res["value"]; tc.wantValue == nil && ok || tc.wantValue != nil && v != tc.wantValue {
				t.Errorf("value = %v (present %v), want %v", v, ok, tc.wantValue)
			}
		})
	}
}

func TestDatadogSite(t *testing.T) {
	for site, want := range map[string]string{"": defaultDatadogAddress, "datadoghq.eu": "https://api.datadoghq.eu", "https://dd.internal": "https://dd.internal"} {
		spec := map[string]any{"type": "datadog", "apiKey": "a", "appKey": "b", "query": "q"}
		if site != "" {
			spec["site"] = site
		}
		p, err := NewProvider(spec, Deps{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.(*DatadogProvider).Address; got != want {
			t.Errorf("site %q: address = %q, want %q", site, got, want)
		}
	}
}

func TestSleepProvider(t *testing.T) {
	var slept []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}
	p, err := NewProvider(map[string]any{"type": "sleep", "durationSeconds": 30.0}, Deps{Sleep: sleep})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Measure(context.Background())
	if err != nil || res["ok"] != true || len(slept) != 1 || slept[0] != 30*time.Second {
		t.Fatalf("res = %v, err = %v, slept = %v", res, err, slept)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Measure(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled err = %v", err)
	}
}

// measureOnce takes one measurement and checks that the server was asked
// exactly once. With wantErr it checks the error instead and reports false.
func measureOnce(t *testing.T, p Provider, calls *atomic.Int32, wantErr string) (map[string]any, bool) {
	t.Helper()
	res, err := p.Measure(context.Background())
	if n := calls.Load(); n != 1 {
		t.Errorf("server called %d times", n)
	}
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want %q", err, wantErr)
		}
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return res, true
}
