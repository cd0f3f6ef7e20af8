package engine

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
)

// regionHealth answers GET /health/{region} for the regions it serves,
// when the bearer token is right, echoing the Authorization header back
// (as a debugging endpoint might); every path it was asked is kept.
type regionHealth struct {
	mu    sync.Mutex
	paths []string
}

func (rh *regionHealth) serve(t *testing.T, token string, regions ...string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rh.mu.Lock()
		rh.paths = append(rh.paths, r.URL.Path)
		rh.mu.Unlock()
		region, ok := strings.CutPrefix(r.URL.Path, "/health/")
		if !ok || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error": "unauthorized"}`, http.StatusUnauthorized)
			return
		}
		for _, served := range regions {
			if served == region {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]string{"region": region, "seen": r.Header.Get("Authorization")})
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestEngine_TemplatedVerification: a metric's provider fields and
// conditions are rendered over the verified job's dispatch context when
// measured: the resource's metadata picks the URL, a sensitive variable
// the header, and the secret never shows in what is kept.
func TestEngine_TemplatedVerification(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		region string
		want   string
	}{
		{"eu", model.VerificationPassed},
		{"us", model.VerificationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			var rh regionHealth
			srv := rh.serve(t, token, "eu")
			sealer, err := secrets.New(strings.Repeat("0f", 32))
			if err != nil {
				t.Fatal(err)
			}
			clock := &fakeClock{now: t0}
			timers := &fakeTimers{clock: clock}
			h := newHarnessWith(t, Config{Clock: clock.Now, AfterFunc: timers.AfterFunc, VerificationAllowPrivate: true, Sealer: sealer})
			t.Cleanup(h.eng.Close)
			world(h)
			h.must("resource.created", resource("r1", map[string]string{"region": tt.region}))
			h.must("deployment-variable.created", deploymentVariable("base", "base", srv.URL))
			h.must("deployment-variable.created", deploymentVariable("token", "token", nil))
			h.must("deployment-variable-value.created", variableValue("tok", "token", 1, cel("true"), map[string]any{"sensitive": token}))
			h.must("policy.created", policyOf("verify", "true", map[string]any{"id": "check", "verification": map[string]any{
				"metrics": []any{map[string]any{"name": "regional health", "count": 1,
					"successCondition": `result.json.region == "{{.Resource.Metadata.region}}"`,
					"provider": map[string]any{"type": "http", "url": "{{.Variables.base}}/health/{{.Resource.Metadata.region}}",
						"headers": map[string]any{"Authorization": "Bearer {{.Variables.token}}"}},
				}}}}))
			h.must("deployment-version.created", version("v1", t0, ""))
			job := h.onlyJob(prodKey("r1"))
			h.finish(job.ID, model.JobSuccessful)

			until(t, "the verification to finish", hasStatus(h, job.ID, tt.want))
			rh.mu.Lock()
			paths := rh.paths
			rh.mu.Unlock()
			if len(paths) != 1 || paths[0] != "/health/"+tt.region {
				t.Errorf("the server was asked %v, want /health/%s once", paths, tt.region)
			}
			v := h.verificationOf(job.ID)
			kept, _ := json.Marshal(v)
			if strings.Contains(string(kept), token) {
				t.Errorf("the verification keeps the secret: %s", kept)
			}
			if tt.want == model.VerificationPassed && !strings.Contains(string(kept), "Bearer "+redactedText) {
				t.Errorf("the echoed header was not kept redacted: %s", kept)
			}
			if !strings.Contains(string(kept), "{{.Resource.Metadata.region}}") {
				t.Errorf("the stored metric lost its template: %s", kept)
			}
		})
	}
}

// TestEngine_TemplatedVerificationRefused: a template naming a field the
// dispatch context lacks is refused when the policy is written.
func TestEngine_TemplatedVerificationRefused(t *testing.T) {
	h := newHarness(t)
	world(h, "r1")
	err := h.apply("policy.created", policyOf("verify", "true", map[string]any{"id": "check", "verification": map[string]any{
		"metrics": []any{map[string]any{"name": "m", "count": 1, "successCondition": "result.ok",
			"provider": map[string]any{"type": "http", "url": "https://{{.Resource.Nmae}}/health"}}}}}))
	const field = "policy.rules[0].verification.metrics[0].provider.url"
	if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), field) {
		t.Fatalf("want EINVALID naming %s, got %v", field, err)
	}
}
