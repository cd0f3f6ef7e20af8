package console

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func TestActions_Approve(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	approve := "/console/workspaces/" + testWS + "/approve"
	body := func(user string) string {
		b, _ := json.Marshal(map[string]string{"versionId": h.version("api", "v1.0.0"), "environmentId": h.environment("prod"),
			"userId": user, "reason": "change 1234"})
		return string(b)
	}

	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		says                    string
	}{
		{"no user", body(" "), "", 400, `"field":"userId"`},
		{"a form", "userId=ana", "application/x-www-form-urlencoded", 400, `"field":"Content-Type"`},
		{"an unknown field", `{"user": "ana"}`, "", 400, `unknown field \"user\"`},
		{"a version that does not exist", `{"versionId": "v9", "environmentId": "` + h.environment("prod") + `", "userId": "ana"}`, "", 400,
			`"field":"userApprovalRecord.versionId"`},
	} {
		header := http.Header{}
		if tc.contentType != "" {
			header.Set("Content-Type", tc.contentType)
		}
		resp, out := h.request("POST", approve, tc.body, "", header)
		if resp.StatusCode != tc.status || !strings.Contains(out, tc.says) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, resp.StatusCode, out, tc.status, tc.says)
		}
	}
	if n := len(h.jobsOf("api", "prod")); n != 0 {
		t.Fatalf("refused approvals created %d jobs", n)
	}
	// A page on another site posting here with the visitor's browser.
	resp, out := h.request("POST", approve, body("ana"), "", http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(out, "cross-origin") {
		t.Errorf("cross-site approval: %d %s", resp.StatusCode, out)
	}

	resp, out = h.request("POST", approve, body("ana"), "", http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(out, `"message":"approved v1.0.0 for prod as ana"`) {
		t.Fatalf("approval: %d %s", resp.StatusCode, out)
	}
	h.read(func(r store.Reader) {
		recs := store.ApprovalsByVersionEnvironment.Get(r, store.ApprovalKey(h.version("api", "v1.0.0"), h.environment("prod")))
		if len(recs) != 1 || recs[0].UserID != "ana" || recs[0].Reason != "change 1234" || recs[0].Status != model.ApprovalApproved {
			t.Errorf("approval records %+v", recs)
		}
	})
	if n := len(h.jobsOf("api", "prod", model.JobPending)); n != 4 {
		t.Errorf("after the approval api has %d pending jobs in prod, want 4", n)
	}
	status, _ := h.do("POST", "/console/workspaces/nope/approve", body("ana"), "")
	if status != http.StatusNotFound {
		t.Errorf("approval in a workspace that does not exist: %d", status)
	}
	if _, ok := h.eng.Workspace("nope"); ok {
		t.Error("an approval created a workspace")
	}
}

// TestActions_ApproveWithNamedToken: an approval taken with a named token is
// its holder's, with the token's groups; it cannot be given in another
// name.
func TestActions_ApproveWithNamedToken(t *testing.T) {
	h := newHarness(t, options{named: []auth.Entry{{Name: "ana", Token: "ana-secret", Groups: []string{"sre"}}}})
	h.token = "ana-secret"
	h.seed()
	approve := "/console/workspaces/" + testWS + "/approve"
	body := func(user string) string {
		b, _ := json.Marshal(map[string]string{"versionId": h.version("api", "v1.0.0"), "environmentId": h.environment("prod"),
			"userId": user})
		return string(b)
	}
	resp, out := h.request("POST", approve, body("bob"), h.token, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, "userId") {
		t.Errorf("approval in another name: %d %s, want 400 naming userId", resp.StatusCode, out)
	}
	resp, out = h.request("POST", approve, body(""), h.token, nil)
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(out, "as ana") {
		t.Fatalf("approval: %d %s", resp.StatusCode, out)
	}
	h.read(func(r store.Reader) {
		recs := store.ApprovalsByVersionEnvironment.Get(r, store.ApprovalKey(h.version("api", "v1.0.0"), h.environment("prod")))
		if len(recs) != 1 || recs[0].UserID != "ana" || !slices.Equal(recs[0].Groups, []string{"sre"}) {
			t.Errorf("approval records %+v, want one by ana of group sre", recs)
		}
	})
}

func TestActions_Redeploy(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	tgt := h.target("api", "staging", "staging-eu-west-1")
	redeploy := targetURL(testWS, tgt) + "/redeploy"

	status, out := h.do("POST", redeploy, "{}", "")
	if status != http.StatusAccepted || !strings.Contains(out, `"message":"redeploy of api/staging/staging-eu-west-1 requested"`) {
		t.Fatalf("redeploy: %d %s", status, out)
	}
	jobs := h.jobsOf("api", "staging", model.JobPending)
	if len(jobs) != 1 {
		t.Fatalf("%d pending jobs after a redeploy, want 1", len(jobs))
	}
	// The new job runs: a second redeploy is refused and changes nothing.
	status, out = h.do("POST", redeploy, "{}", "")
	if status != http.StatusConflict || !strings.Contains(out, `"code":"conflict"`) {
		t.Errorf("redeploy while a job runs: %d %s", status, out)
	}
	if n := len(h.jobsOf("api", "staging", model.JobPending)); n != 1 {
		t.Errorf("%d pending jobs after a refused redeploy", n)
	}
	// The page says so before anyone clicks.
	d := h.page(targetURL(testWS, tgt))
	for _, b := range d.main().all("button", "") {
		if b.attr("data-action") == "redeploy" && (!b.has("disabled") || !strings.HasPrefix(b.attr("title"), "A job is under way")) {
			t.Errorf("redeploy button while a job runs: disabled %v, title %q", b.has("disabled"), b.attr("title"))
		}
	}
	status, _ = h.do("POST", targetURL(testWS, &model.ReleaseTarget{ResourceID: "a", EnvironmentID: "b", DeploymentID: "c"})+"/redeploy", "{}", "")
	if status != http.StatusNotFound {
		t.Errorf("redeploy of a target that does not exist: %d", status)
	}
}

func TestToken(t *testing.T) {
	const token = "s3cret-token"
	h := newHarness(t, options{token: token})
	h.seed()
	grid := "/console/workspaces/" + testWS

	resp, body := h.request("GET", grid, "", "", nil)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer realm="gatehouse"` {
		t.Errorf("a page without the token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	d := parseDoc(t, body)
	if got := d.main().one(t, "h1", "").text(); got != "Token required" {
		t.Errorf("a page without the token says %q", got)
	}
	if strings.Contains(body, "prod-eu-west-1") || strings.Contains(body, "payments") || len(d.main().all("table", "")) > 0 {
		t.Error("a page without the token shows the workspace")
	}
	if b := d.node().one(t, "body", ""); b.attr("data-token-required") != "true" || b.attr("data-locked") != "true" {
		t.Errorf("body data: %v", b.n.Attr)
	}
	if status, _ := h.do("GET", grid, "", "wrong"); status != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", status)
	}
	if status, body := h.do("GET", grid, "", token); status != http.StatusOK || !strings.Contains(body, "payments") {
		t.Errorf("the right token: %d", status)
	}
	for _, path := range []string{grid + "/events"} {
		if status, out := h.do("GET", path, "", ""); status != http.StatusUnauthorized || !strings.Contains(out, `"code":"unauthorized"`) {
			t.Errorf("GET %s without the token: %d %s", path, status, out)
		}
	}
	approve := `{"versionId": "` + h.version("api", "v1.0.0") + `", "environmentId": "` + h.environment("prod") + `", "userId": "ana"}`
	if status, _ := h.do("POST", grid+"/approve", approve, ""); status != http.StatusUnauthorized {
		t.Errorf("an approval without the token: %d", status)
	}
	if status, _ := h.do("POST", grid+"/approve", approve, token); status != http.StatusAccepted {
		t.Errorf("an approval with the token: %d", status)
	}
	// The script and stylesheet hold no data: served to anyone.
	if status, _ := h.do("GET", "/console/static/console.css", "", ""); status != http.StatusOK {
		t.Errorf("the stylesheet without a token: %d", status)
	}
}

func TestEvents_OneEventPerCommit(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+"/console/workspaces/"+testWS+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := bufio.NewReader(resp.Body)
	block := func() string {
		t.Helper()
		var lines []string
		for {
			line, err := events.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v", err)
			}
			if line == "\n" {
				return strings.Join(lines, "\n")
			}
			lines = append(lines, strings.TrimSuffix(line, "\n"))
		}
	}
	// The first block says the stream is open (and subscribed).
	if got := block(); got != "retry: 2000\n: live" {
		t.Fatalf("first block %q", got)
	}
	h.must("user-approval-record.created", map[string]any{"versionId": h.version("api", "v1.0.0"),
		"environmentId": h.environment("prod"), "userId": "ana", "status": model.ApprovalApproved})
	if got := block(); got != `event: commit`+"\n"+`data: {"workspace":"`+testWS+`"}` {
		t.Errorf("after a commit: %q", got)
	}
	// A refused event commits nothing and sends nothing; the next commit
	// is the next event.
	raw, _ := json.Marshal(map[string]any{"name": "no id"})
	if err := h.eng.Apply(ctx, testWS, []engine.Event{{Type: "system.created", Data: raw}}); err == nil {
		t.Fatal("a system without an id was applied")
	}
	h.newVersion("web", "v2")
	if got := block(); !strings.HasPrefix(got, "event: commit") {
		t.Errorf("after the next commit: %q", got)
	}
	// Closing the console ends the stream, so that a shutdown is not held.
	h.console.Close()
	if line, err := events.ReadString('\n'); err == nil {
		t.Errorf("the stream goes on after Close: %q", line)
	}
	if n := h.console.cfg.Hub.streams(testWS); n != 0 {
		t.Errorf("%d streams left subscribed", n)
	}
}
