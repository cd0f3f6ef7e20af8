package console

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The browser tests drive the console in headless Chromium the way a
// person would: open the grid, read a cell, click through to a target,
// approve, and watch the page change by itself. They skip when Chromium
// is not installed, unless GATEHOUSE_REQUIRE_CHROMIUM=1 (CI), and keep a
// screenshot of each step in bin/screenshots/.

// browserTimeout bounds a whole browser test: a safety net for a page that
// never shows what a step waits for, not a measure of anything.
const browserTimeout = 90 * time.Second

// chromiumPath finds Chromium or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const install = "install it with `apt-get update && apt-get install -y chromium chromium-driver`"
	if os.Getenv("GATEHOUSE_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("GATEHOUSE_REQUIRE_CHROMIUM=1 but Chromium is not installed: " + install)
	}
	t.Skip("Chromium is not installed; " + install + " (GATEHOUSE_REQUIRE_CHROMIUM=1 makes this a failure)")
	return ""
}

// browser is one headless Chromium tab, with a fresh profile.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	return &browser{t: t, ctx: tab}
}

// do runs steps, failing the test at the first that fails.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the first element sel matches, with
// white space runs made one space.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript predicate holds in the page.
func (b *browser) waitFor(what, predicate string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(browserTimeout))); err != nil {
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// screenshot keeps the page as bin/screenshots/name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "bin", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// rollout brings the examples to the middle of a second rollout: v1.0.0
// everywhere, api v1.1.0 through dev and on half of staging, web v1.1.0
// failed on one dev cluster. This is also the state the README's
// screenshot shows.
func rollout(h *harness) {
	h.t.Helper()
	h.seed()
	for _, d := range []string{"api", "web"} {
		h.must("user-approval-record.created", map[string]any{"versionId": h.version(d, "v1.0.0"),
			"environmentId": h.environment("prod"), "userId": "ana", "status": model.ApprovalApproved})
		h.finishAll(d, "prod", model.JobSuccessful)
	}
	h.newVersion("api", "v1.1.0")
	h.finishAll("api", "dev", model.JobSuccessful)
	for _, j := range h.jobsOf("api", "staging", model.JobPending)[:2] {
		h.finish(j, model.JobSuccessful, "")
	}
	h.newVersion("web", "v1.1.0")
	web := h.jobsOf("web", "dev", model.JobPending)
	h.finish(web[0], model.JobFailure, "image pull failed: manifest unknown")
	for _, j := range web[1:] {
		h.finish(j, model.JobSuccessful, "")
	}
}

// cellSelector is the CSS selector of a grid cell.
func (h *harness) cellSelector(system, deployment, environment string) string {
	sys := id(h, store.Systems, system, func(s *model.System) string { return s.Name }, func(s *model.System) string { return s.ID })
	return `[id="cell-` + cellID(sys, h.deployment(deployment), h.environment(environment)) + `"]`
}

func TestBrowser_GridTargetApprove(t *testing.T) {
	b := newBrowser(t)
	h := newHarness(t, options{})
	rollout(h)
	prodCell := h.cellSelector("payments", "api", "prod")

	// The home page opens the workspace's grid.
	b.do("open the console", chromedp.Navigate(h.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.grid")))
	if got := b.text("table.grid thead"); got != "DEPLOYMENT DEV STAGING PROD" {
		t.Errorf("columns: %q", got)
	}
	for sel, want := range map[string]string{
		h.cellSelector("payments", "api", "dev") + " .versions":     "v1.1.0 on 4/4",
		h.cellSelector("payments", "api", "staging") + " .versions": "v1.1.0 on 2/4, v1.0.0 on 2",
		prodCell + " .versions":                                     "v1.0.0 on 4/4",
		prodCell + " .label":                                        "v1.1.0 waiting: waiting for staging (2/4); 1 approval missing",
		h.cellSelector("payments", "web", "dev") + " .label":        "1 failed: v1.1.0: job failure: image pull failed: manifest unknown",
	} {
		if got := b.text(sel); got != want {
			t.Errorf("%s: %q, want %q", sel, got, want)
		}
	}
	b.waitFor("the live stream", `document.getElementById("live").classList.contains("on")`)
	b.screenshot("grid")

	// Clicking a cell shows why its next version waits.
	b.do("open the prod cell", chromedp.Click(chromedp.CSS(prodCell), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(prodCell+" .why")))
	if got := b.text(prodCell + " .why .reasons"); got != "waiting waiting for staging (2/4); 1 approval missing (4 of 4)" {
		t.Errorf("the cell's reasons: %q", got)
	}
	b.screenshot("grid-why")

	// Through to a target.
	b.do("click a prod target", chromedp.Click(chromedp.CSS(prodCell+` .why .targets a[href$="`+
		h.resource("prod-eu-west-1")+"/"+h.environment("prod")+"/"+h.deployment("api")+`"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("ol.candidates")))
	if got := b.text("main h1"); got != "api in prod on prod-eu-west-1" {
		t.Fatalf("target page heading: %q", got)
	}
	v11 := `[id="version-api-v1.1.0"]`
	if got := b.text(v11 + " .candidate-head"); got != "v1.1.0 waiting ready, created 2026-03-02 09:55:00 UTC Approve v1.1.0 for prod" {
		t.Errorf("v1.1.0 on the target page: %q", got)
	}
	if got := b.text(v11 + " li.rule.verdict-waiting"); !strings.HasPrefix(got, "waiting environmentProgression (prod-gates) waiting for v1.1.0 to succeed in staging (2 of 4 targets, need 100%)") {
		t.Errorf("the progression rule: %q", got)
	}
	b.waitFor("the live stream", `document.getElementById("live").classList.contains("on")`)
	eval[bool](b, `window.sameDocument = true`)

	// Staging finishes elsewhere: the page follows without a reload.
	h.finishAll("api", "staging", model.JobSuccessful)
	b.waitFor("the progression rule to pass", `document.querySelector('`+v11+` li.rule.verdict-passed') !== null`)
	if got := b.text(v11 + " li.rule.verdict-passed"); !strings.HasPrefix(got, "passed environmentProgression (prod-gates) v1.1.0 succeeded in staging") {
		t.Errorf("the progression rule after staging: %q", got)
	}
	b.screenshot("target")

	// Approve: the dialog asks for a name, the job appears.
	b.do("approve v1.1.0", chromedp.Click(chromedp.CSS(v11+` button[data-action="approve"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#action-dialog")),
		chromedp.SendKeys(chromedp.CSS("#action-user"), "ana"),
		chromedp.SendKeys(chromedp.CSS("#action-reason"), "change 1234"))
	b.screenshot("approve-dialog")
	b.do("confirm", chromedp.Click(chromedp.CSS("#action-confirm"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#flash")))
	if got := b.text("#flash"); got != "approved v1.1.0 for prod as ana" {
		t.Errorf("flash: %q", got)
	}
	b.do("the new job", chromedp.WaitVisible(chromedp.CSS(`#target-jobs tr.job[data-status="pending"]`)))
	if got := b.text(`#target-jobs tr.job[data-status="pending"]`); !strings.Contains(got, "v1.1.0 pending test-runner not dispatched yet") {
		t.Errorf("the new job: %q", got)
	}
	if !eval[bool](b, `window.sameDocument === true`) {
		t.Error("the page was reloaded")
	}
	b.screenshot("target-approved")
	if jobs := h.jobsOf("api", "prod", model.JobPending); len(jobs) != 4 {
		t.Errorf("%d pending prod jobs after the approval, want 4", len(jobs))
	}

	// Back on the grid, prod deploys.
	b.do("back to the grid", chromedp.Click(chromedp.CSS(`#nav a[href$="`+testWS+`"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("table.grid")))
	if got := b.text(prodCell + " .label"); got != "deploying on 4" {
		t.Errorf("api/prod after the approval: %q", got)
	}
	b.screenshot("grid-deploying")
}

func TestBrowser_Lists(t *testing.T) {
	b := newBrowser(t)
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
	h.newVersion("web", "v1.1.0")
	h.finish(h.jobsOf("web", "dev", model.JobPending)[0], model.JobFailure, "image pull failed")

	b.do("open the grid", chromedp.Navigate(h.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.grid")))
	b.do("open versions", chromedp.Click(chromedp.CSS(`#nav a[href$="/versions"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("table.versions")))
	if got := b.text("main section:nth-of-type(2) tbody tr"); got != "v1.1.0 ready 2026-03-02 09:47:00 UTC 0 of 12 4 of 12 none" {
		t.Errorf("web's newest version: %q", got)
	}
	b.screenshot("versions")

	b.do("open jobs", chromedp.Click(chromedp.CSS(`#nav a[href$="/jobs"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("table.jobs")))
	if got := b.text("#jobs-count"); got != "20 jobs" {
		t.Errorf("all jobs: %q", got)
	}
	eval[bool](b, `window.sameDocument = true`)
	// Choosing a status (SetValue fires the change a person's choice does).
	b.do("filter failures", chromedp.SetValue(chromedp.CSS(`select[name="status"]`), "failure"))
	b.waitFor("one job", `document.getElementById("jobs-count").textContent.trim() === "1 job"`)
	if !eval[bool](b, `window.sameDocument === true`) {
		t.Error("the filter reloaded the page")
	}
	if got := b.text("#jobs tr.job"); !strings.Contains(got, "web · dev · ") || !strings.Contains(got, "failure image pull failed") {
		t.Errorf("the failed job: %q", got)
	}
	if loc := eval[string](b, `location.search`); loc != "?status=failure" {
		t.Errorf("the filter's address: %q", loc)
	}
	b.screenshot("jobs")

	b.do("open policies", chromedp.Click(chromedp.CSS(`#nav a[href$="/policies"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(".policy.matches-none")))
	if got := b.text(".policy.matches-none .matches"); got != "This policy matches 0 targets: its rules gate nothing. Check the selector." {
		t.Errorf("the policy matching nothing: %q", got)
	}
	b.screenshot("policies")
}

func TestBrowser_Token(t *testing.T) {
	const token = "s3cret-token"
	b := newBrowser(t)
	h := newHarness(t, options{token: token})
	h.seed()

	b.do("open the console", chromedp.Navigate(h.srv.URL+"/console/workspaces/"+testWS),
		chromedp.WaitVisible(chromedp.CSS("#token-dialog")))
	if got := b.text("main h1"); got != "Token required" {
		t.Errorf("before the token: %q", got)
	}
	b.do("a wrong token", chromedp.SendKeys(chromedp.CSS("#token-input"), "wrong"), chromedp.Click(chromedp.CSS("#token-save")),
		chromedp.WaitVisible(chromedp.CSS("#token-error")))
	if got := b.text("#token-error"); got != "The server refused this token." {
		t.Errorf("after a wrong token: %q", got)
	}
	b.do("the right token", chromedp.SetValue(chromedp.CSS("#token-input"), token), chromedp.Click(chromedp.CSS("#token-save")),
		chromedp.WaitVisible(chromedp.CSS("table.grid")))
	b.screenshot("token-grid")
	b.waitFor("the live stream", `document.getElementById("live").classList.contains("on")`)

	// Links are followed with the token too.
	prodCell := h.cellSelector("payments", "api", "prod")
	b.do("open a target", chromedp.Click(chromedp.CSS(prodCell), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(prodCell+" .why .targets a"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("ol.candidates")))
	if path := eval[string](b, `location.pathname`); !strings.Contains(path, "/targets/") {
		t.Errorf("address after following a link: %q", path)
	}
	// Live refresh carries the token: an approval made elsewhere shows.
	eval[bool](b, `window.sameDocument = true`)
	h.must("user-approval-record.created", map[string]any{"versionId": h.version("api", "v1.0.0"),
		"environmentId": h.environment("prod"), "userId": "bo", "status": model.ApprovalApproved})
	b.waitFor("the job of the approval", `document.querySelector('#target-jobs tr.job') !== null`)
	if !eval[bool](b, `window.sameDocument === true`) {
		t.Error("the page was reloaded")
	}
}
