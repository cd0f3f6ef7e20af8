package github_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/agents/github"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// workflowRunDelivery is a workflow_run webhook body as GitHub sends it
// (trimmed of the fields nobody reads).
const workflowRunDelivery = `{
  "action": "completed",
  "workflow_run": {
    "id": 30433642,
    "name": "Deploy",
    "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
    "head_branch": "main",
    "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
    "path": ".github/workflows/deploy.yml",
    "display_title": "7d9f3b52-1c0a-4e8e-9f61-0b7c2d3e4f5a",
    "run_number": 562,
    "event": "workflow_dispatch",
    "status": "completed",
    "conclusion": "failure",
    "workflow_id": 159038,
    "url": "https://api.github.com/repos/acme/shop/actions/runs/30433642",
    "html_url": "https://github.com/acme/shop/actions/runs/30433642",
    "created_at": "2030-03-04T10:00:05Z",
    "updated_at": "2030-03-04T10:03:41Z",
    "run_attempt": 1,
    "run_started_at": "2030-03-04T10:00:05Z"
  },
  "workflow": {"id": 159038, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"},
  "repository": {"id": 1296269, "name": "shop", "full_name": "acme/shop", "private": true},
  "sender": {"login": "gatehouse-app[bot]", "id": 41898282, "type": "Bot"},
  "installation": {"id": 4242}
}`

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	body := []byte(workflowRunDelivery)
	if err := github.VerifySignature("It's a Secret to Everybody", body, sign("It's a Secret to Everybody", workflowRunDelivery)); err != nil {
		t.Fatalf("a correct signature was refused: %v", err)
	}
	sha1mac := hmac.New(sha1.New, []byte("s"))
	sha1mac.Write(body)
	for name, header := range map[string]string{
		"other secret":    sign("another secret", workflowRunDelivery),
		"changed body":    sign("s", workflowRunDelivery+" "),
		"missing":         "",
		"sha1 only":       "sha1=" + hex.EncodeToString(sha1mac.Sum(nil)),
		"not hex":         "sha256=zz",
		"without prefix ": hex.EncodeToString([]byte("x")),
	} {
		if err := github.VerifySignature("s", body, header); !errors.Is(err, github.ErrSignature) {
			t.Errorf("%s: error = %v, want ErrSignature", name, err)
		}
	}
	if err := github.VerifySignature("", body, sign("", workflowRunDelivery)); err == nil {
		t.Error("an empty secret verified a delivery")
	}
}

func TestParseWorkflowRun(t *testing.T) {
	ev, err := github.ParseWorkflowRun([]byte(workflowRunDelivery))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Action != "completed" || ev.RunID != 30433642 || ev.Repository != "acme/shop" || ev.JobID != jobID {
		t.Errorf("event = %+v", ev)
	}
	u := ev.Update
	if u.Status != model.JobFailure || u.ExternalID != "30433642" || u.Links["run"] != "https://github.com/acme/shop/actions/runs/30433642" {
		t.Errorf("update = %+v, want failure of run 30433642 with its link", u)
	}
}

func TestParseWorkflowRun_TitleWithoutJob(t *testing.T) {
	body := `{"action":"in_progress","workflow_run":{"id":7,"name":"CI","display_title":"Fix the build","status":"in_progress","conclusion":null}}`
	ev, err := github.ParseWorkflowRun([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.JobID != "" || ev.RunID != 7 || ev.Update.Status != model.JobInProgress {
		t.Errorf("event = %+v, want run 7 in progress naming no job", ev)
	}
	for _, bad := range []string{`{"zen":"Keep it logically awesome."}`, `not json`} {
		if _, err := github.ParseWorkflowRun([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
}
