package engine

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// stagingVerification verifies staging jobs once against url/health.
func stagingVerification(url string) map[string]any {
	return policyOf("verify-staging", `environment.name == "staging"`,
		map[string]any{"id": "check", "verification": map[string]any{"metrics": []any{map[string]any{
			"name": "health", "count": 1, "successCondition": "result.statusCode == 200",
			"provider": map[string]any{"type": "http", "url": url + "/health"},
		}}}})
}

// TestEngine_ProgressionRequireVerificationPassed: with
// requireVerificationPassed, a success in the dependency environment counts
// only once its verification passed; prod moves when it does, and never on
// a success whose verification failed or that was never verified.
func TestEngine_ProgressionRequireVerificationPassed(t *testing.T) {
	tests := []struct {
		name    string
		require bool
		verify  bool  // staging jobs are verified
		code    int32 // the health check's answer
		// wantAtSuccess are the prod targets with a job of v1 once the
		// staging job succeeded; wantAfter once its verification finished.
		wantAtSuccess, wantAfter []string
	}{
		{"without the option a success counts at once", false, true, 200,
			[]string{p1Prod, p2Prod}, []string{p1Prod, p2Prod}},
		{"with it prod waits for the verification to pass", true, true, 200,
			nil, []string{p1Prod, p2Prod}},
		{"a failed verification never counts", true, true, 500, nil, nil},
		{"a success that was never verified does not count", true, false, 200, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code atomic.Int32
			code.Store(tt.code)
			// The health check answers only once the test has looked at
			// the state at the staging success: a verification that
			// finished first would make that state unobservable.
			gate := make(chan struct{})
			var open sync.Once
			release := func() { open.Do(func() { close(gate) }) }
			health := healthServer(t, &code)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-gate
				health.Config.Handler.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(release)
			h, _, _ := newVerifyHarness(t)
			t.Cleanup(h.eng.Close)
			stages(h)
			if tt.verify {
				h.must("policy.created", stagingVerification(srv.URL))
			}
			h.must("policy.created", progressionPolicy(map[string]any{"requireVerificationPassed": tt.require}))
			h.must("deployment-version.created", versionOf("v1", "api", t0))
			staging := h.onlyJob(s1Staging)
			h.finish(staging.ID, model.JobSuccessful)
			wantDeployed(t, h, "v1", append([]string{s1Staging}, tt.wantAtSuccess...)...)
			release()

			if tt.verify {
				want := model.VerificationPassed
				if tt.code != 200 {
					want = model.VerificationFailed
				}
				until(t, "the staging verification to finish", hasStatus(h, staging.ID, want))
			}
			want := append([]string{s1Staging}, tt.wantAfter...)
			slices.Sort(want)
			until(t, "prod to follow the verification", func() bool { return slices.Equal(h.deployed("v1"), want) })
			wantDeployed(t, h, "v1", want...)
		})
	}
}

// TestEngine_ProgressionRequireVerificationPassed_Explained: the wait says
// what it waits for.
func TestEngine_ProgressionRequireVerificationPassed_Explained(t *testing.T) {
	h := newHarness(t)
	stages(h)
	h.must("policy.created", progressionPolicy(map[string]any{"requireVerificationPassed": true}))
	h.must("deployment-version.created", versionOf("v1", "api", t0))
	h.finish(h.onlyJob(s1Staging).ID, model.JobSuccessful)
	ev, err := h.eng.Evaluate(h.snapshot(), p1Prod, "v1")
	if err != nil {
		t.Fatal(err)
	}
	r := ev.Policies[0].Results[0]
	if r.Allowed || r.Message != "waiting for v1 to succeed and pass verification in staging (0 of 1 targets, need at least one)" {
		t.Fatalf("result = %+v", r)
	}
	if r.Details["requireVerificationPassed"] != true {
		t.Errorf("details = %v, want requireVerificationPassed", r.Details)
	}
}
