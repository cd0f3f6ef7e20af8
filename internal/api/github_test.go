package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// TestGitHubWebhook: a signed workflow_run delivery whose run title names a
// job moves that job; an unsigned or wrongly signed one is refused and
// changes nothing.
func TestGitHubWebhook(t *testing.T) {
	const secret = "wh-secret"
	ts := newTestServer(t, engine.Config{}, Config{GitHubWebhookSecret: secret})
	ts.post(targetEvents("gh")...)
	ts.post(versionEvent("v1", "v1"))
	jobs := ts.get("/v1/workspaces/" + testWS + "/jobs")["items"].([]any)
	jobID := jobs[0].(map[string]any)["id"].(string)

	delivery := func(status, conclusion string) string {
		return fmt.Sprintf(`{"action":"completed","workflow_run":{"id":4242,"name":"deploy","display_title":"deploy %s",
			"status":%q,"conclusion":%q,"html_url":"https://github.example/o/r/actions/runs/4242"},
			"repository":{"full_name":"o/r"}}`, jobID, status, conclusion)
	}
	send := func(body, signature string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, ts.srv.URL+"/v1/webhooks/github", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-GitHub-Event", "workflow_run")
		if signature != "" {
			req.Header.Set("X-Hub-Signature-256", signature)
		}
		resp, err := ts.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sign := func(body string) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	status := func() map[string]any { return ts.get("/v1/workspaces/" + testWS + "/jobs/" + jobID) }

	body := delivery("completed", "success")
	if code := send(body, ""); code != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery: %d, want 401", code)
	}
	if code := send(body, sign(body+"x")); code != http.StatusUnauthorized {
		t.Fatalf("wrongly signed delivery: %d, want 401", code)
	}
	if got := status()["status"]; got != "pending" {
		t.Fatalf("a refused delivery moved the job to %v", got)
	}
	if code := send(body, sign(body)); code != http.StatusAccepted {
		t.Fatalf("signed delivery: %d, want 202", code)
	}
	j := status()
	meta, _ := json.Marshal(j["metadata"])
	if j["status"] != "successful" || j["externalId"] != "4242" || !strings.Contains(string(meta), "actions/runs/4242") {
		t.Fatalf("after the delivery the job is %v (externalId %v, metadata %s); want successful, 4242, with the run's link",
			j["status"], j["externalId"], meta)
	}
}
