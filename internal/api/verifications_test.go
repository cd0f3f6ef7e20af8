package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// TestServer_VerificationMeasurements: the read views of verifications
// (each job's, and the job-verifications collection) show every metric's
// measurements, which the engine stores as rows of their own.
func TestServer_VerificationMeasurements(t *testing.T) {
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"healthy": true}`))
	}))
	t.Cleanup(health.Close)
	// The health server listens on loopback.
	ts := newTestServer(t, engine.Config{VerificationAllowPrivate: true}, Config{})
	ts.post(targetEvents("a")...)
	metric := func(name string) map[string]any {
		return map[string]any{"name": name, "count": 1, "successCondition": "result.json.healthy",
			"provider": map[string]any{"type": "http", "url": health.URL + "/" + name}}
	}
	ts.post(event("policy.created", map[string]any{"id": "p", "name": "p", "enabled": true, "selector": "true",
		"rules": []any{map[string]any{"id": "check", "verification": map[string]any{"metrics": []any{metric("a"), metric("b")}}}}}))
	ts.post(versionEvent("v1", "1.0.0"))
	jobs := items(t, ts.get("/v1/workspaces/"+testWS+"/jobs"))
	id := jobs[0].(map[string]any)["id"].(string)
	ts.post(event("job.updated", map[string]any{"id": id, "job": map[string]any{"status": "successful"}, "fieldsToUpdate": []string{"status"}}))

	// The measurements run in the background; wait for the verdict.
	var job map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		job = ts.get("/v1/workspaces/" + testWS + "/jobs/" + id)
		if vs, _ := job["verifications"].([]any); len(vs) == 1 && vs[0].(map[string]any)["status"] == "passed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the verification did not pass: %v", job["verifications"])
		}
	}
	ver := job["verifications"].([]any)[0].(map[string]any)
	wantMeasured(t, "the job's verification", ver)
	listed := items(t, ts.get("/v1/workspaces/"+testWS+"/job-verifications"))
	if len(listed) != 1 {
		t.Fatalf("%d job verifications listed, want 1", len(listed))
	}
	wantMeasured(t, "the listed verification", listed[0].(map[string]any))
	wantMeasured(t, "the verification by id", ts.get("/v1/workspaces/"+testWS+"/job-verifications/"+ver["id"].(string)))
}

// wantMeasured checks that both metrics of a verification show their one
// passed measurement.
func wantMeasured(t *testing.T, what string, v map[string]any) {
	t.Helper()
	metrics, _ := v["metrics"].([]any)
	if len(metrics) != 2 {
		t.Fatalf("%s has %d metrics, want 2: %v", what, len(metrics), v)
	}
	for _, m := range metrics {
		m := m.(map[string]any)
		ms, _ := m["measurements"].([]any)
		if len(ms) != 1 || ms[0].(map[string]any)["status"] != "passed" {
			t.Errorf("%s: metric %v has measurements %v, want one passed", what, m["name"], ms)
		}
	}
}
