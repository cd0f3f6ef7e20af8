package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/custom"
	"github.com/gatehouse-dev/gatehouse/internal/agents/webhook"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
)

// pullServer is an API with the custom and webhook types, sensitive values
// sealed, and a token: what a runner of a custom agent talks to.
func pullServer(t *testing.T) *testServer {
	t.Helper()
	sealer, err := secrets.New(strings.Repeat("0123456789abcdef", 4))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := agents.NewRegistry(custom.New(), webhook.New(webhook.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, engine.Config{Sealer: sealer, Agents: reg},
		Config{Token: "runner-token", Agents: reg, Opener: sealer})
}

// pullJob is a job as the pull routes answer it.
type pullJob struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	DispatchContext struct {
		Variables map[string]any `json:"variables"`
	} `json:"dispatchContext"`
	Dispatch *struct {
		Attempts       int       `json:"attempts"`
		LeaseExpiresAt time.Time `json:"leaseExpiresAt"`
	} `json:"dispatch"`
}

// readJob GETs a job.
func readJob(t *testing.T, ts *testServer, path string) pullJob {
	t.Helper()
	status, body := ts.do(http.MethodGet, path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return decodeJob(t, "GET "+path, body)
}

func decodeJob(t *testing.T, what string, body []byte) pullJob {
	t.Helper()
	var j pullJob
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatalf("%s: %v in %s", what, err, body)
	}
	return j
}

// TestPull_ClaimAndHeartbeat walks a runner through the pull protocol: it
// lists the agent's pending job, claims it (the answer carries the
// sensitive variable opened, every read view keeps it sealed), a second
// claim is 409, a heartbeat extends the lease. A claim without the token,
// or with a bad lease, is refused and changes nothing.
func TestPull_ClaimAndHeartbeat(t *testing.T) {
	const secret = "pull-s3cret-value"
	ts := pullServer(t)
	ts.post(targetEvents("a")...)
	ts.post(
		event("deployment-variable.created", map[string]any{"id": "dv1", "key": "password", "deploymentId": "api"}),
		event("deployment-variable-value.created", map[string]any{"id": "dvv1", "deploymentVariableId": "dv1", "priority": 0,
			"resourceSelector": map[string]any{"cel": "true"}, "value": map[string]any{"sensitive": secret}}),
	)
	ts.post(versionEvent("v1", "1.0.0"))

	base := "/v1/workspaces/" + testWS
	page := ts.get(base + "/job-agents/a/jobs?status=pending")
	pending := items(t, page)
	if len(pending) != 1 {
		t.Fatalf("pending jobs of agent a: %v, want one", pending)
	}
	id := pending[0].(map[string]any)["id"].(string)
	if strings.Contains(mustJSON(t, page), secret) {
		t.Errorf("the list of pending jobs shows the secret in clear")
	}
	claimPath, beatPath, jobPath := base+"/jobs/"+id+"/claim", base+"/jobs/"+id+"/heartbeat", base+"/jobs/"+id

	stillPending := func(what string) {
		t.Helper()
		if j := readJob(t, ts, jobPath); j.Status != model.JobPending || j.Dispatch != nil {
			t.Errorf("after %s: job %s with dispatch %+v, want pending and never claimed", what, j.Status, j.Dispatch)
		}
	}
	for _, token := range []string{"", "wrong"} {
		if status, body := ts.doWith(http.MethodPost, claimPath, `{"leaseSeconds": 60}`, token); status != http.StatusUnauthorized {
			t.Errorf("claim with token %q: %d %s, want 401", token, status, body)
		}
	}
	stillPending("claims without the token")
	for body, field := range map[string]string{`{"leaseSeconds": 0}`: "leaseSeconds", `{"leaseSeconds": 86401}`: "leaseSeconds",
		`{"leaseSecs": 60}`: "body", `{"leaseSeconds": "60"}`: "body"} {
		status, answer := ts.do(http.MethodPost, claimPath, body)
		if status != http.StatusBadRequest || errorBodyOf(t, answer).Field != field {
			t.Errorf("claim %s: %d %s, want 400 naming %s", body, status, answer, field)
		}
	}
	stillPending("refused claims")

	status, body := ts.do(http.MethodPost, claimPath, `{"leaseSeconds": 60}`)
	if status != http.StatusOK {
		t.Fatalf("claim: %d %s", status, body)
	}
	claimed := decodeJob(t, "claim", body)
	if claimed.ID != id || claimed.Status != model.JobInProgress {
		t.Errorf("claim answered job %s %s, want %s inProgress", claimed.ID, claimed.Status, id)
	}
	if got := claimed.DispatchContext.Variables["password"]; got != secret {
		t.Errorf("the claim's dispatch context has password %v, want it opened", got)
	}
	stored := readJob(t, ts, jobPath)
	if stored.Status != model.JobInProgress || stored.Dispatch == nil || stored.Dispatch.Attempts != 1 || stored.Dispatch.LeaseExpiresAt.IsZero() {
		t.Fatalf("claimed job reads %s with dispatch %+v, want inProgress, one attempt, a lease", stored.Status, stored.Dispatch)
	}
	if strings.Contains(mustJSON(t, ts.get(jobPath)), secret) {
		t.Error("the claimed job's read view shows the secret in clear")
	}

	if status, body := ts.do(http.MethodPost, claimPath, `{"leaseSeconds": 60}`); status != http.StatusConflict {
		t.Errorf("second claim: %d %s, want 409", status, body)
	}
	if n := len(items(t, ts.get(base+"/job-agents/a/jobs?status=pending"))); n != 0 {
		t.Errorf("%d pending jobs after the claim, want 0", n)
	}

	status, body = ts.do(http.MethodPost, beatPath, `{"leaseSeconds": 3600}`)
	if status != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", status, body)
	}
	beat := decodeJob(t, "heartbeat", body)
	if beat.Dispatch == nil || !beat.Dispatch.LeaseExpiresAt.After(stored.Dispatch.LeaseExpiresAt) || beat.Dispatch.Attempts != 1 {
		t.Errorf("after a heartbeat of 3600 s the dispatch is %+v, want the lease past %s and still one attempt",
			beat.Dispatch, stored.Dispatch.LeaseExpiresAt)
	}
	if strings.Contains(string(body), secret) {
		t.Error("the heartbeat's answer shows the secret in clear")
	}
	if status, _ := ts.doWith(http.MethodPost, beatPath, `{"leaseSeconds": 60}`, ""); status != http.StatusUnauthorized {
		t.Errorf("heartbeat without the token: %d, want 401", status)
	}
	if status, _ := ts.do(http.MethodPost, base+"/jobs/no-such-job/heartbeat", `{}`); status != http.StatusNotFound {
		t.Errorf("heartbeat of an unknown job: %d, want 404", status)
	}
}

// TestPull_PushedJobsCannotBeClaimed: a job of an agent Gatehouse pushes to
// (webhook) is not a runner's to take: its claim is 409 and it stays
// pending for the dispatcher.
func TestPull_PushedJobsCannotBeClaimed(t *testing.T) {
	ts := pullServer(t)
	evs := targetEvents("")
	ts.post(event("job-agent.created", map[string]any{"id": "hook", "name": "hook", "type": "webhook",
		"config": map[string]any{"url": "http://127.0.0.1:1/hook"}}))
	for _, ev := range evs {
		if ev["eventType"] == "deployment.created" {
			ev["data"].(map[string]any)["jobAgentId"] = "hook"
		}
	}
	ts.post(evs...)
	ts.post(versionEvent("v1", "1.0.0"))
	jobs := items(t, ts.get("/v1/workspaces/"+testWS+"/jobs"))
	if len(jobs) != 1 {
		t.Fatalf("jobs: %v, want one", jobs)
	}
	path := "/v1/workspaces/" + testWS + "/jobs/" + jobs[0].(map[string]any)["id"].(string)
	if status, body := ts.do(http.MethodPost, path+"/claim", `{"leaseSeconds": 60}`); status != http.StatusConflict {
		t.Errorf("claim of a webhook job: %d %s, want 409", status, body)
	}
	if j := readJob(t, ts, path); j.Status != model.JobPending || j.Dispatch != nil {
		t.Errorf("the webhook job after a refused claim: %s %+v, want pending, untouched", j.Status, j.Dispatch)
	}
}
