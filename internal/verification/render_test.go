package verification

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// TestValidateMetric_Templates: templates are checked when the policy is
// written, the values they will render are not.
func TestValidateMetric_Templates(t *testing.T) {
	metric := func(provider map[string]any, success string) *model.VerificationMetric {
		return &model.VerificationMetric{Name: "m", Count: 1, SuccessCondition: success, Provider: provider}
	}
	http := func(fields map[string]any) map[string]any {
		p := map[string]any{"type": "http", "url": "https://svc/health"}
		for k, v := range fields {
			p[k] = v
		}
		return p
	}
	tests := []struct {
		name string
		m    *model.VerificationMetric
		want string // "" for valid
	}{
		{"a templated URL is judged once rendered", metric(http(map[string]any{"url": "{{.Variables.base}}/health"}), "result.ok"), ""},
		{"a templated method and timeout too",
			metric(http(map[string]any{"method": "{{.Variables.method}}", "timeout": "{{.Variables.timeout}}"}), "result.ok"), ""},
		{"a templated header", metric(http(map[string]any{"headers": map[string]any{"X-Region": "{{.Resource.Metadata.region}}"}}), "result.ok"), ""},
		{"templated Prometheus durations", metric(map[string]any{"type": "prometheus", "address": "{{.Variables.prom}}",
			"query": `up{region="{{.Resource.Metadata.region}}"}`, "rangeQuery": map[string]any{"step": "{{.Variables.step}}", "end": "1h"}},
			"result.value == 1.0"), ""},
		{"a templated Datadog aggregator", metric(map[string]any{"type": "datadog", "apiKey": "a", "appKey": "b", "query": "q",
			"aggregator": "{{.Variables.agg}}"}, "result.ok"), ""},
		{"a templated condition compiles once rendered", metric(http(nil), "result.json.p99 < {{.Variables.maxLatency}}"), ""},
		{"a field the context lacks, in the provider", metric(http(map[string]any{"url": "https://{{.Resource.Nmae}}/health"}), "result.ok"),
			"metrics[0].provider.url: template"},
		{"a field the context lacks, in a nested field", metric(http(map[string]any{"headers": map[string]any{"X": "{{.Versoin.Tag}}"}}), "result.ok"),
			"metrics[0].provider.headers.X: template"},
		{"a field the context lacks, in a condition", metric(http(nil), `result.json.region == "{{.Resource.Regoin}}"`),
			"metrics[0].successCondition: template"},
		{"a template that does not parse", metric(http(nil), "result.ok && {{.Variables.x"), "metrics[0].successCondition: template does not parse"},
		{"an untemplated bad URL is still refused", metric(http(map[string]any{"url": "svc/health"}), "result.ok"),
			"metrics[0].provider.url: must be an absolute"},
		{"an untemplated condition still compiles now", metric(http(nil), "result.x >"), "metrics[0].successCondition:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMetric(tt.m, "metrics[0]")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			case tt.want != "" && model.ErrorCode(err) != model.EINVALID:
				t.Fatalf("error %v is not EINVALID", err)
			}
		})
	}
}

func TestRender(t *testing.T) {
	data := &templating.Data{
		Resource:  &model.Resource{Name: "eu-1", Metadata: map[string]string{"region": "eu"}},
		Variables: map[string]any{"base": "https://health.example", "max": 250},
	}
	m := &model.VerificationMetric{Name: "m", Count: 1,
		SuccessCondition: "result.json.p99 < {{.Variables.max}}", FailureCondition: `result.json.region != "{{.Resource.Metadata.region}}"`,
		Provider: map[string]any{"type": "http", "url": "{{.Variables.base}}/{{.Resource.Name}}",
			"headers": map[string]any{"X-Region": "{{.Resource.Metadata.region}}"}}}
	got, err := Render(m, data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Provider["url"] != "https://health.example/eu-1" || got.Provider["headers"].(map[string]any)["X-Region"] != "eu" {
		t.Errorf("provider = %v", got.Provider)
	}
	if got.SuccessCondition != "result.json.p99 < 250" || got.FailureCondition != `result.json.region != "eu"` {
		t.Errorf("conditions = %q, %q", got.SuccessCondition, got.FailureCondition)
	}
	if m.Provider["url"] != "{{.Variables.base}}/{{.Resource.Name}}" {
		t.Error("Render changed the stored metric")
	}
	// The rendered metric is a provider NewProvider takes as it is.
	if _, err := NewProvider(got.Provider, Deps{}); err != nil {
		t.Errorf("NewProvider(rendered) = %v", err)
	}
	m.Provider["url"] = "{{.Resource.Nope}}"
	if _, err := Render(m, data); err == nil || !strings.Contains(err.Error(), "provider.url") {
		t.Errorf("a template naming a missing field rendered: %v", err)
	}
}
