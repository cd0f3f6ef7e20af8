package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// gridCellOf returns the grid's cell of a deployment in an environment, by
// the names a person reads in the row and column headers.
func gridCellOf(t *testing.T, d *doc, deployment, environment string) node {
	t.Helper()
	table := d.main().one(t, "table", "grid")
	headers := table.one(t, "thead", "").all("th", "")
	ci := slices.IndexFunc(headers, func(n node) bool { return n.text() == environment })
	if ci < 1 {
		t.Fatalf("no column %q in the grid", environment)
	}
	for _, row := range table.one(t, "tbody", "").all("tr", "") {
		if row.one(t, "span", "deployment").text() == deployment {
			return row.all("td", "cell")[ci-1]
		}
	}
	t.Fatalf("no row %q in the grid", deployment)
	return node{}
}

// cellLine returns the text of one line of a grid cell.
func cellLine(t *testing.T, cell node, class string) string {
	t.Helper()
	return cell.one(t, "div", class).text()
}

func TestGrid_CountsStatesAndReasons(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	grid := "/console/workspaces/" + testWS

	d := h.page(grid)
	if got := d.texts("thead", ""); len(got) != 1 || got[0] != "Deployment dev staging prod" {
		t.Errorf("columns %q: want the environments in progression order, dev → staging → prod", got)
	}
	prod := gridCellOf(t, d, "api", "prod")
	if got := cellLine(t, prod, "versions"); got != "nothing deployed (0/4)" {
		t.Errorf("api/prod versions: %q", got)
	}
	if got := cellLine(t, prod, "label"); got != "v1.0.0 waiting: 1 approval missing" {
		t.Errorf("api/prod label: %q", got)
	}
	if prod.attr("data-state") != stateWaiting || !prod.hasClass("state-waiting") {
		t.Errorf("api/prod state %q, class %q", prod.attr("data-state"), prod.attr("class"))
	}
	if got := prod.one(t, "ul", "reasons").text(); got != "waiting 1 approval missing (4 of 4)" {
		t.Errorf("api/prod reasons: %q", got)
	}
	if got := len(prod.one(t, "ul", "targets").all("a", "")); got != 4 {
		t.Errorf("api/prod lists %d targets, want 4", got)
	}
	staging := gridCellOf(t, d, "web", "staging")
	if got := cellLine(t, staging, "versions") + " / " + cellLine(t, staging, "label"); got != "v1.0.0 on 4/4 / up to date" {
		t.Errorf("web/staging: %q", got)
	}

	// A new api version: dev deploys it, staging waits for dev.
	h.newVersion("api", "v1.1.0")
	d = h.page(grid)
	if got := cellLine(t, gridCellOf(t, d, "api", "staging"), "label"); got != "v1.1.0 waiting: waiting for dev (0/4)" {
		t.Errorf("api/staging label with v1.1.0 new: %q", got)
	}
	dev := gridCellOf(t, d, "api", "dev")
	if got := cellLine(t, dev, "label"); dev.attr("data-state") != stateDeploying || got != "deploying on 4" {
		t.Errorf("api/dev: state %q, label %q", dev.attr("data-state"), got)
	}
	// Three of four dev targets take it; one fails in web.
	jobs := h.jobsOf("api", "dev", model.JobPending)
	for _, j := range jobs[:3] {
		h.finish(j, model.JobSuccessful, "")
	}
	h.newVersion("web", "v1.1.0")
	h.finish(h.jobsOf("web", "dev", model.JobPending)[0], model.JobFailure, "image pull failed")

	d = h.page(grid)
	dev = gridCellOf(t, d, "api", "dev")
	if got := cellLine(t, dev, "versions"); got != "v1.1.0 on 3/4, v1.0.0 on 1" {
		t.Errorf("api/dev versions: %q", got)
	}
	if got := dev.one(t, "progress", ""); got.attr("value") != "3" || got.attr("max") != "4" {
		t.Errorf("api/dev progress %s of %s", got.attr("value"), got.attr("max"))
	}
	webDev := gridCellOf(t, d, "web", "dev")
	if webDev.attr("data-state") != stateFailed {
		t.Errorf("web/dev state %q, want failed", webDev.attr("data-state"))
	}
	if got := cellLine(t, webDev, "label"); got != "1 failed: v1.1.0: job failure: image pull failed" {
		t.Errorf("web/dev label: %q", got)
	}
	if got := cellLine(t, webDev, "versions"); got != "v1.0.0 on 4/4" {
		t.Errorf("web/dev versions: %q", got)
	}
	if got := cellLine(t, gridCellOf(t, d, "api", "prod"), "label"); got != "v1.1.0 waiting: waiting for staging (0/4); 1 approval missing" {
		t.Errorf("api/prod label with v1.1.0: %q", got)
	}
}

func TestGrid_Window(t *testing.T) {
	h := newHarness(t, options{})
	// Prod deploys only in a window starting at 14:00 UTC; the first
	// deployment is never held back by a window, so v1.0.0 is approved
	// and deployed first, and v1.1.0 then waits for the window.
	window := h.writeManifest("window.yaml", `kind: policy
metadata:
  name: prod-window
spec:
  selector: environment.name == "prod"
  rules:
    - deploymentWindow:
        rrule: "FREQ=DAILY;BYHOUR=14;BYMINUTE=0;BYSECOND=0"
        durationMinutes: 60
`)
	h.seed(window)
	h.must("user-approval-record.created", map[string]any{"versionId": h.version("api", "v1.0.0"),
		"environmentId": h.environment("prod"), "userId": "ana", "status": model.ApprovalApproved})
	h.finishAll("api", "prod", model.JobSuccessful)
	h.newVersion("api", "v1.1.0")
	h.finishAll("api", "dev", model.JobSuccessful)
	h.finishAll("api", "staging", model.JobSuccessful)
	h.must("user-approval-record.created", map[string]any{"versionId": h.version("api", "v1.1.0"),
		"environmentId": h.environment("prod"), "userId": "ana", "status": model.ApprovalApproved})

	prod := gridCellOf(t, h.page("/console/workspaces/"+testWS), "api", "prod")
	if got := cellLine(t, prod, "versions") + " / " + cellLine(t, prod, "label"); got != "v1.0.0 on 4/4 / v1.1.0 waiting: window opens 14:00 UTC" {
		t.Errorf("api/prod: %q", got)
	}
}

func TestTargetPage_ExplainsEveryCandidate(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	tgt := h.target("api", "prod", "prod-eu-west-1")
	path := targetURL(testWS, tgt)

	d := h.page(path)
	if got := d.main().one(t, "h1", "").text(); got != "api in prod on prod-eu-west-1" {
		t.Errorf("heading %q", got)
	}
	if got := d.byID("current").text(); got != "nothing deployed yet" {
		t.Errorf("current release: %q", got)
	}
	if got := d.byID("desired").text(); got != "none: no version passes" {
		t.Errorf("desired release: %q", got)
	}
	rules := d.texts("li", "rule")
	want := []string{
		"passed environmentProgression (prod-gates) v1.0.0 succeeded in staging satisfied 2026-03-02 09:42:00 UTC",
		"waiting anyApproval (prod-gates) waiting for 1 more approval of version v1.0.0 in prod (0 of 1)",
	}
	if !slices.Equal(rules, want) {
		t.Errorf("rules:\n got  %q\n want %q", rules, want)
	}
	var buttons []string
	for _, b := range d.main().all("button", "") {
		switch b.attr("data-action") {
		case "approve":
			buttons = append(buttons, b.text()+" "+b.attr("data-version-id")+" "+b.attr("data-environment-id"))
		case "redeploy":
			// Nothing to redeploy yet: the button says so instead of failing.
			if !b.has("disabled") || !strings.HasPrefix(b.attr("title"), "Nothing to redeploy") {
				t.Errorf("redeploy button: disabled %v, title %q", b.has("disabled"), b.attr("title"))
			}
		}
	}
	if want := "Approve v1.0.0 for prod " + h.version("api", "v1.0.0") + " " + h.environment("prod"); !slices.Equal(buttons, []string{want}) {
		t.Errorf("approve buttons %q, want %q", buttons, want)
	}

	// Every candidate, newest first, with its creation time.
	h.newVersion("api", "v1.1.0")
	d = h.page(path)
	var heads []string
	for _, c := range d.main().all("li", "candidate") {
		heads = append(heads, c.one(t, "div", "candidate-head").text())
	}
	want = []string{
		"v1.1.0 waiting ready, created 2026-03-02 09:47:00 UTC Approve v1.1.0 for prod",
		"v1.0.0 waiting ready, created 2026-03-02 09:30:00 UTC Approve v1.0.0 for prod",
	}
	if !slices.Equal(heads, want) {
		t.Errorf("candidates:\n got  %q\n want %q", heads, want)
	}
	if got := d.main().all("li", "candidate")[0].one(t, "p", "message").text(); !strings.HasPrefix(got, "waiting for v1.1.0 to succeed in staging (0 of 4 targets, need 100%)") {
		t.Errorf("v1.1.0 message: %q", got)
	}
}

func TestTargetPage_VariablesJobsDispatchAndLinks(t *testing.T) {
	h := newHarness(t, options{})
	secret := h.writeManifest("secret.yaml", `kind: deployment-variable
metadata:
  name: db-password
spec:
  deployment: web
---
kind: deployment-variable-value
metadata:
  name: db-password-all
spec:
  deployment: web
  variable: db-password
  value: {sensitive: hunter2}
  resourceSelector:
    cel: "true"
`)
	h.seed(secret)

	d := h.page(targetURL(testWS, h.target("api", "prod", "prod-eu-west-1")))
	if got := d.texts("table", "vars"); len(got) != 0 {
		t.Errorf("a target with no release shows variables %q", got)
	}
	// api has replicas: 2, 4 in prod; staging runs v1.0.0 with 2.
	d = h.page(targetURL(testWS, h.target("api", "staging", "staging-eu-west-1")))
	if got := d.main().one(t, "table", "vars").text(); got != `replicas 2` {
		t.Errorf("api staging variables: %q", got)
	}
	if got := d.byID("current").text(); !strings.HasPrefix(got, "v1.0.0 release ") {
		t.Errorf("current release: %q", got)
	}

	// web's dev jobs of a new version: one handed over with links, one
	// whose hand-over failed and waits for a retry.
	h.newVersion("web", "v1.1.0")
	pending := h.jobsOf("web", "dev", model.JobPending)
	at := h.clock()
	err := h.eng.RecordDispatches(context.Background(), testWS, []engine.DispatchAttempt{
		{JobID: pending[0].ID, At: at, Delivered: true, Status: model.JobInProgress, ExternalID: "run-42",
			Links: map[string]string{"GitHub run": "https://github.example/acme/web/actions/runs/42", "evil": "javascript:alert(1)"}},
		{JobID: pending[1].ID, At: at, Error: "dial tcp 10.0.0.9:443: connection refused", RetryAt: at.Add(2 * time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var page1, page2 *doc
	var target1, target2 model.ReleaseTarget
	h.read(func(r store.Reader) {
		for _, j := range []*model.Job{pending[0], pending[1]} {
			rel, _ := store.Releases.Get(r, j.ReleaseID)
			if j == pending[0] {
				target1 = rel.ReleaseTarget
			} else {
				target2 = rel.ReleaseTarget
			}
		}
	})
	page1, page2 = h.page(targetURL(testWS, &target1)), h.page(targetURL(testWS, &target2))

	row := page1.byID("target-jobs").all("tr", "job")[0]
	if got := row.text(); !strings.Contains(got, "v1.1.0 inProgress") ||
		!strings.Contains(got, "1 attempt, dispatched 2026-03-02 09:47:00 UTC") || !strings.Contains(got, "GitHub run ↗ run-42") {
		t.Errorf("dispatched job row: %q", got)
	}
	links := row.all("a", "run-link")
	if len(links) != 1 || links[0].attr("href") != "https://github.example/acme/web/actions/runs/42" {
		t.Errorf("job links %v: want only the web link", links)
	}
	if got := page2.byID("target-jobs").all("tr", "job")[0].text(); !strings.Contains(got,
		"1 attempt, last 2026-03-02 09:47:00 UTC, next 2026-03-02 09:47:02 UTC dial tcp 10.0.0.9:443: connection refused") {
		t.Errorf("undelivered job row: %q", got)
	}
	// The older job: successful, with its times.
	if got := page1.byID("target-jobs").all("tr", "job")[1].text(); !strings.Contains(got, "v1.0.0 successful completed 2026-03-02 09:") {
		t.Errorf("first job row: %q", got)
	}

	// The sensitive value is masked, and neither it nor its hash is sent.
	status, body := h.get(targetURL(testWS, &target1))
	if status != http.StatusOK {
		t.Fatal(status)
	}
	if got := page1.main().one(t, "table", "vars").text(); got != "db-password •••••• sensitive" {
		t.Errorf("web variables: %q", got)
	}
	var hash string
	h.read(func(r store.Reader) {
		rel, _ := store.Releases.Get(r, pending[0].ReleaseID)
		hash = rel.Variables["db-password"].V.(map[string]any)["sensitive"].(map[string]any)["valueHash"].(string)
	})
	if strings.Contains(body, "hunter2") || hash == "" || strings.Contains(body, hash) {
		t.Errorf("the page holds the sensitive value or its hash %q", hash)
	}
}

func TestJobsPage_Filters(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	h.newVersion("web", "v1.1.0")
	h.finish(h.jobsOf("web", "dev", model.JobPending)[0], model.JobFailure, "image pull failed")
	jobs := "/console/workspaces/" + testWS + "/jobs"

	count := func(query string) (string, int) {
		t.Helper()
		d := h.page(jobs + query)
		n := 0
		if rows := d.main().all("table", "jobs"); len(rows) == 1 {
			n = len(rows[0].all("tr", "job"))
		}
		return d.byID("jobs-count").text(), n
	}
	if got, n := count(""); got != "20 jobs" || n != 20 {
		t.Errorf("all jobs: %q, %d rows (16 of v1.0.0 in dev and staging, 4 of web v1.1.0)", got, n)
	}
	if got, n := count("?status=failure"); got != "1 job" || n != 1 {
		t.Errorf("failed jobs: %q, %d rows", got, n)
	}
	if got, _ := count("?status=pending&deployment=" + h.deployment("web")); got != "3 jobs" {
		t.Errorf("web's pending jobs: %q", got)
	}
	if got, _ := count("?deployment=" + h.deployment("api") + "&environment=" + h.environment("staging")); got != "4 jobs" {
		t.Errorf("api's jobs in staging: %q", got)
	}
	d := h.page(jobs + "?status=failure")
	row := d.main().one(t, "tr", "job")
	if got := row.text(); !strings.Contains(got, "web · dev · ") || !strings.Contains(got, "failure image pull failed") {
		t.Errorf("failed job row: %q", got)
	}
	var selected []string
	for _, o := range d.main().all("option", "") {
		if o.has("selected") {
			selected = append(selected, o.attr("value"))
		}
	}
	if !slices.Equal(selected, []string{"failure"}) {
		t.Errorf("the filters show %q selected, want the status failure", selected)
	}
	status, body := h.get(jobs + "?status=broken")
	if status != http.StatusBadRequest || !strings.Contains(body, `status: &#34;broken&#34; is not a job status`) {
		t.Errorf("a bad filter: %d\n%s", status, body)
	}
}

func TestPoliciesPage_MatchedTargets(t *testing.T) {
	h := newHarness(t, options{})
	typo := h.writeManifest("typo.yaml", `kind: policy
metadata:
  name: production-freeze
spec:
  selector: environment.name == "production"
  rules:
    - anyApproval:
        minApprovals: 2
`)
	h.seed(typo)
	d := h.page("/console/workspaces/" + testWS + "/policies")
	got := map[string]string{}
	for _, sec := range d.main().all("section", "policy") {
		got[strings.Fields(sec.one(t, "h2", "").text())[0]] = sec.one(t, "p", "matches").text()
	}
	want := map[string]string{
		"production-freeze": "This policy matches 0 targets: its rules gate nothing. Check the selector.",
		"prod-gates":        "This policy matches 8 targets.",
		"staging-after-dev": "This policy matches 8 targets.",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	freeze := d.byID("policy-" + id(h, store.Policies, "production-freeze", func(p *model.Policy) string { return p.Name },
		func(p *model.Policy) string { return p.ID }))
	if !freeze.hasClass("matches-none") || !strings.Contains(freeze.text(), `anyApproval {"minApprovals":2}`) {
		t.Errorf("the freeze policy: class %q, text %q", freeze.attr("class"), freeze.text())
	}
}

func TestPoliciesPage_Freezes(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	h.must("freeze.created", map[string]any{"id": "fz-close", "name": "quarter-close",
		"selector": `environment.name == "dev" && deployment.name == "api"`, "reason": "the quarter's close",
		"until": start.Add(48 * time.Hour)})
	h.must("freeze.created", map[string]any{"id": "fz-drill", "selector": "true", "reason": "a drill",
		"until": h.clock().Add(time.Minute)})
	h.advance(2 * time.Minute)
	h.newVersion("api", "v1.1.0")

	d := h.page("/console/workspaces/" + testWS + "/policies")
	closeSec := d.byID("freeze-fz-close")
	if !closeSec.hasClass("in-force") {
		t.Errorf("the quarter's freeze is not shown in force: class %q", closeSec.attr("class"))
	}
	want := "Holds new jobs on 4 targets: frozen by the quarter's close until 2026-03-04 09:30:00 UTC."
	if got := closeSec.one(t, "p", "held").text(); got != want {
		t.Errorf("the quarter's freeze: %q, want %q", got, want)
	}
	if got := len(closeSec.one(t, "ul", "targets").all("a", "")); got != 4 {
		t.Errorf("the quarter's freeze links %d targets, want the 4 of api in dev", got)
	}
	drill := d.byID("freeze-fz-drill")
	if drill.hasClass("in-force") || !strings.HasPrefix(drill.one(t, "p", "held").text(), "Ended 2026-03-02 ") {
		t.Errorf("the ended drill: class %q, text %q", drill.attr("class"), drill.text())
	}

	// The grid says why api's new version does not reach dev.
	dev := gridCellOf(t, h.page("/console/workspaces/"+testWS), "api", "dev")
	if got := cellLine(t, dev, "label"); !strings.Contains(got, "frozen by the quarter's close until 2026-03-04T09:30:00Z") {
		t.Errorf("api/dev label: %q", got)
	}
}

func TestVersionsPage(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	h.must("user-approval-record.created", map[string]any{"versionId": h.version("api", "v1.0.0"),
		"environmentId": h.environment("prod"), "userId": "ana", "status": model.ApprovalApproved})
	d := h.page("/console/workspaces/" + testWS + "/versions")
	var rows []string
	for _, r := range d.main().all("tr", "") {
		rows = append(rows, r.text())
	}
	want := []string{
		"Version Status Created Current on Desired on Approvals",
		"v1.0.0 ready 2026-03-02 09:30:00 UTC 8 of 12 12 of 12 prod: ana",
		"Version Status Created Current on Desired on Approvals",
		"v1.0.0 ready 2026-03-02 09:30:00 UTC 8 of 12 8 of 12 none",
	}
	if !slices.Equal(rows, want) {
		t.Errorf("versions:\n got  %q\n want %q", rows, want)
	}
}

func TestPages_NotFound(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	for _, tc := range []struct {
		method, path string
		status       int
		says         string
	}{
		{"GET", "/console/workspaces/nope", 404, "Workspace &#34;nope&#34; does not exist"},
		{"GET", "/console/workspaces/" + testWS + "/targets/a/b/c", 404, "There is no release target"},
		{"GET", "/console/nothing-here", 404, "There is no page at /console/nothing-here."},
		{"DELETE", "/console/workspaces/" + testWS, 405, "DELETE is not allowed"},
	} {
		resp, body := h.request(tc.method, tc.path, "", "", nil)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s %s: %d %s, want %d saying %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.says)
		}
	}
	// The API keeps its JSON errors beside the console.
	for _, path := range []string{"/v1/nope", "/nope"} {
		resp, body := h.request("GET", path, "", "", nil)
		if resp.StatusCode != 404 || !strings.Contains(body, `"code":"not_found"`) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	// One workspace: the home page opens it.
	resp, _ := h.request("GET", "/", "", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/workspaces/"+testWS {
		t.Errorf("GET /: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Two: it lists them.
	if err := h.eng.Apply(context.Background(), "second", []engine.Event{{Type: "system.created",
		Data: []byte(`{"id": "s", "name": "s"}`)}}); err != nil {
		t.Fatal(err)
	}
	if got := h.page("/").texts("ul", "workspaces"); !slices.Equal(got, []string{testWS + " second"}) {
		t.Errorf("the workspaces: %q", got)
	}
	resp, _ = h.request("GET", "/console/static/console.js", "", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("the script: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestGrid_LargeCell: past maxJudgedPerCell targets, a cell counts the rest
// by the engine's recorded state without evaluating their rules.
func TestGrid_LargeCell(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	for i := range maxJudgedPerCell {
		name := "prod-edge-" + strconv.Itoa(i)
		h.must("resource.created", map[string]any{"id": name, "name": name, "identifier": name, "kind": "Cluster",
			"version": "v1", "config": map[string]any{}, "metadata": map[string]string{"env": "prod"}})
	}
	total := maxJudgedPerCell + 4
	prod := gridCellOf(t, h.page("/console/workspaces/"+testWS), "api", "prod")
	if got := cellLine(t, prod, "versions"); got != "nothing deployed (0/"+strconv.Itoa(total)+")" {
		t.Errorf("versions: %q", got)
	}
	want := []string{
		"waiting 1 approval missing (" + strconv.Itoa(maxJudgedPerCell) + " of " + strconv.Itoa(total) + ")",
		"waiting waiting on anyApproval (4 of " + strconv.Itoa(total) + ")",
	}
	var got []string
	for _, li := range prod.one(t, "ul", "reasons").all("li", "") {
		got = append(got, li.text())
	}
	if !slices.Equal(got, want) {
		t.Errorf("reasons:\n got  %q\n want %q", got, want)
	}
}
