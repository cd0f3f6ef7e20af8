package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// TestServer_NamedTokens: with named tokens, the events a token sends carry
// its holder; approvals are recorded for the caller, with its groups, and
// a different userId is refused. The admin token stays anonymous.
func TestServer_NamedTokens(t *testing.T) {
	tokens, err := auth.New("root", []auth.Entry{
		{Name: "alice", Token: "alice-t", Groups: []string{"sre"}},
		{Name: "bob", Token: "bob-t", Groups: []string{"dba"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, engine.Config{}, Config{Tokens: tokens})
	ts.token = "root"
	ts.post(targetEvents("")...)
	send := func(token string, ev map[string]any) (int, []byte) {
		return ts.doWith(http.MethodPost, eventsPath, mustJSON(t, ev), token)
	}
	if status, body := send("alice-t", versionEvent("v1", "v1")); status != http.StatusAccepted {
		t.Fatalf("alice creating v1: %d %s", status, body)
	}
	if v := ts.get("/v1/workspaces/" + testWS + "/deployment-versions/v1"); v["createdBy"] != "alice" {
		t.Errorf("v1 createdBy = %v, want alice", v["createdBy"])
	}

	approval := func(user string) map[string]any {
		a := map[string]any{"versionId": "v1", "environmentId": "prod", "status": "approved"}
		if user != "" {
			a["userId"] = user
		}
		return event("user-approval-record.created", a)
	}
	if status, body := send("bob-t", approval("")); status != http.StatusAccepted {
		t.Fatalf("bob approving: %d %s", status, body)
	}
	status, body := send("bob-t", approval("alice"))
	if status != http.StatusBadRequest {
		t.Fatalf("bob approving as alice: %d %s, want 400", status, body)
	}
	if e := errorBodyOf(t, body); e.Field != "userApprovalRecord.userId" {
		t.Errorf("bob approving as alice: field %q, want userApprovalRecord.userId (%s)", e.Field, e.Error)
	}
	if status, body := send("root", approval("release-bot")); status != http.StatusAccepted {
		t.Fatalf("the admin token approving for release-bot: %d %s", status, body)
	}
	if status, _ := send("carol-t", approval("")); status != http.StatusUnauthorized {
		t.Errorf("an unknown token: %d, want 401", status)
	}

	var page struct {
		Items []struct {
			UserID string   `json:"userId"`
			Groups []string `json:"groups"`
		} `json:"items"`
	}
	_, raw := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/user-approval-records", "")
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, it := range page.Items {
		got[it.UserID] = it.Groups
	}
	if len(got) != 2 || !slices.Equal(got["bob"], []string{"dba"}) || got["release-bot"] != nil {
		t.Fatalf("approvals = %v, want bob (dba) and release-bot (no groups)", got)
	}
}
