package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

func TestPlans_VersionsListThemAndTheirPageShowsEachTarget(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	body, err := json.Marshal(map[string]any{"id": "plan-api-v110", "version": map[string]any{"tag": "v1.1.0",
		"jobAgentConfig": map[string]any{"image": "registry.example.com/api:{{.Release.Version.Tag}}"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.PlanDeployment(context.Background(), testWS, h.deployment("api"), body); err != nil {
		t.Fatal(err)
	}

	versions := h.page("/console/workspaces/" + testWS + "/versions")
	plans := versions.main().all("ul", "plans")
	if len(plans) != 1 {
		t.Fatalf("%d lists of plans on the versions screen, want api's one", len(plans))
	}
	item := plans[0].one(t, "li", "")
	// text() joins the link and the words after it with a space.
	want := "v1.1.0 : 12 targets, 12 with changes, 0 errored, 0 unsupported (completed) planned 2026-03-02 "
	if !strings.HasPrefix(item.text(), want) {
		t.Errorf("api's plan: %q, want it to start %q", item.text(), want)
	}
	link := item.one(t, "a", "").attr("href")

	d := h.page(link)
	if got := d.main().one(t, "h1", "").text(); got != "Plan of api at v1.1.0" {
		t.Errorf("plan title %q", got)
	}
	sections := d.main().all("section", "plan-target")
	if len(sections) != 12 {
		t.Fatalf("%d targets on the plan's page, want 12", len(sections))
	}
	var dev, prod string
	for _, s := range sections {
		switch s.one(t, "h2", "").text() {
		case "dev · dev-eu-west-1 runs v1.0.0":
			dev = s.text()
		case "prod · prod-eu-west-1 runs nothing":
			prod = s.text()
		}
	}
	if !strings.Contains(dev, "test-runner (test-runner) : changes") ||
		!strings.Contains(dev, "+image: registry.example.com/api:v1.1.0") {
		t.Errorf("dev-eu-west-1 (runs v1.0.0) should show the agent's change and the line diff:\n%s", dev)
	}
	if !strings.Contains(prod, "+image: registry.example.com/api:v1.1.0") {
		t.Errorf("prod-eu-west-1 (runs nothing) should show what its first job would get:\n%s", prod)
	}

	// Expired plans are neither listed nor shown.
	h.advance(engine.PlanRetention + time.Minute)
	if status, _ := h.get(link); status != http.StatusNotFound {
		t.Errorf("an expired plan answers %d, want 404", status)
	}
	if got := h.page("/console/workspaces/"+testWS+"/versions").main().all("ul", "plans"); len(got) != 0 {
		t.Errorf("an expired plan is still listed")
	}
}
