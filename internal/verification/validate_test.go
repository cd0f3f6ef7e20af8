package verification

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestValidateMetric(t *testing.T) {
	zero, four := 0, 4
	valid := func() *model.VerificationMetric {
		return &model.VerificationMetric{Name: "health", Count: 3, IntervalSeconds: 10,
			SuccessCondition: "result.ok", Provider: map[string]any{"type": "http", "url": "https://svc/health"}}
	}
	tests := []struct {
		name   string
		mutate func(m *model.VerificationMetric)
		want   []string // substrings; empty means valid
	}{
		{"valid http", func(m *model.VerificationMetric) {}, nil},
		{"valid prometheus", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "prometheus", "address": "http://prom:9090", "query": "up", "timeout": 30.0,
				"rangeQuery": map[string]any{"step": "30s"}}
		}, nil},
		{"valid datadog", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "datadog", "apiKey": "a", "appKey": "b", "queries": map[string]any{"q": "x"}, "aggregator": "max"}
		}, nil},
		{"valid sleep", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "sleep", "durationSeconds": 60.0}
		}, nil},
		{"metric fields", func(m *model.VerificationMetric) {
			m.Name, m.Count, m.IntervalSeconds, m.FailureThreshold = " ", 0, -1, -1
		}, []string{"metrics[0].name: is required", "metrics[0].count: must be between 1 and 1000",
			"metrics[0].intervalSeconds: must not be negative", "metrics[0].failureThreshold: must not be negative"}},
		{"count without end", func(m *model.VerificationMetric) { m.Count, m.IntervalSeconds = 1_000_000_000, 0 },
			[]string{"metrics[0].count: must be between 1 and 1000", "metrics[0].intervalSeconds: must be at least 1 when count"}},
		{"measurements back to back", func(m *model.VerificationMetric) { m.IntervalSeconds = 0 },
			[]string{"metrics[0].intervalSeconds: must be at least 1 when count is more than 1"}},
		{"interval overflowing", func(m *model.VerificationMetric) { m.IntervalSeconds = 9_300_000_000 },
			[]string{"metrics[0].intervalSeconds: must be at most 315360000"}},
		{"one measurement needs no interval", func(m *model.VerificationMetric) { m.Count, m.IntervalSeconds = 1, 0 }, nil},
		{"file URL", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "http", "url": "file:///etc/passwd"}
		},
			[]string{"metrics[0].provider.url: must be an absolute http(s) URL"}},
		{"timeouts overflowing", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "prometheus", "address": "http://p", "query": "up", "timeout": 1e12,
				"rangeQuery": map[string]any{"step": "99999999999999999999y", "start": "400y"}}
		}, []string{"provider.timeout: must be more than 0 and at most 3600 seconds", "provider.rangeQuery.step: invalid duration",
			"provider.rangeQuery.start: duration \"400y\" is longer than ten years"}},
		{"timeout string over an hour", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "http", "url": "https://svc/health", "timeout": "2562047h"}
		}, []string{"provider.timeout: must be a positive duration of at most 1h"}},
		{"success threshold zero", func(m *model.VerificationMetric) { m.SuccessThreshold = &zero }, []string{"metrics[0].successThreshold:"}},
		{"success threshold above count", func(m *model.VerificationMetric) { m.SuccessThreshold = &four }, []string{"metrics[0].successThreshold:"}},
		{"conditions", func(m *model.VerificationMetric) { m.SuccessCondition, m.FailureCondition = "", "result.x >" },
			[]string{"metrics[0].successCondition: is required", "metrics[0].failureCondition:"}},
		{"bad success condition", func(m *model.VerificationMetric) { m.SuccessCondition = "result.x +" }, []string{"metrics[0].successCondition:"}},
		{"no provider", func(m *model.VerificationMetric) { m.Provider = nil }, []string{"metrics[0].provider: is required"}},
		{"unknown type", func(m *model.VerificationMetric) { m.Provider = map[string]any{"type": "newrelic"} }, []string{"metrics[0].provider.type: unknown provider type"}},
		{"missing type", func(m *model.VerificationMetric) { m.Provider = map[string]any{} }, []string{"metrics[0].provider.type: is required"}},
		{"http url", func(m *model.VerificationMetric) { m.Provider = map[string]any{"type": "http"} }, []string{"metrics[0].provider.url: is required"}},
		{"http bad fields", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "http", "url": "svc/health", "method": "FETCH", "timeout": "soon"}
		}, []string{"provider.url: must be an absolute", "provider.method: unsupported", "provider.timeout:"}},
		{"prometheus required", func(m *model.VerificationMetric) { m.Provider = map[string]any{"type": "prometheus"} },
			[]string{"metrics[0].provider.address: is required", "metrics[0].provider.query: is required"}},
		{"prometheus range step", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "prometheus", "address": "http://p", "query": "up", "rangeQuery": map[string]any{"start": "5x"}}
		}, []string{"provider.rangeQuery.step: is required", "provider.rangeQuery.start:"}},
		{"datadog required", func(m *model.VerificationMetric) { m.Provider = map[string]any{"type": "datadog"} },
			[]string{"provider.apiKey: is required", "provider.appKey: is required", "provider.query: is required"}},
		{"datadog unsupported", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "datadog", "apiKey": "a", "appKey": "b", "queries": map[string]any{"a": "x", "b": "y"},
				"formula": "a/b", "aggregator": "percentile", "intervalSeconds": 0.0}
		}, []string{"provider.queries: must hold exactly one", "provider.formula:", "provider.aggregator:", "provider.intervalSeconds:"}},
		{"sleep duration", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "sleep", "durationSeconds": -1.0}
		},
			[]string{"metrics[0].provider.durationSeconds: must be between 0 and 3600"}},
		{"sleep missing", func(m *model.VerificationMetric) { m.Provider = map[string]any{"type": "sleep"} },
			[]string{"metrics[0].provider.durationSeconds: is required"}},
		{"sleep not integer", func(m *model.VerificationMetric) {
			m.Provider = map[string]any{"type": "sleep", "durationSeconds": "10"}
		},
			[]string{"metrics[0].provider.durationSeconds: must be a number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			tc.mutate(m)
			err := ValidateMetric(m, "metrics[0]")
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if code := model.ErrorCode(err); code != model.EINVALID {
				t.Errorf("error %q has code %q, want %q", err, code, model.EINVALID)
			}
			// The API answers the field of the first problem, so the
			// caller is pointed at one even when there are several.
			first, _, _ := strings.Cut(tc.want[0], ":")
			if f := model.ErrorField(err); f == "" || !strings.HasSuffix(f, first) {
				t.Errorf("error %q names the field %q, want one ending in %q", err, f, first)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// NewProvider rejects what ValidateMetric rejects.
	if _, err := NewProvider(map[string]any{"type": "http"}, Deps{}); err == nil || err.Error() != "provider.url: is required" {
		t.Errorf("NewProvider err = %v", err)
	}
}
