package main

import (
	"net/http"
	"runtime"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// scrape reads /metrics as Prometheus does, in the text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample returns the value of the family's series with exactly these
// labels: a counter's or gauge's value, a histogram's count. ok is false
// when there is no such series.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (v float64, ok bool) {
	fam := fams[name]
	if fam == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range fam.Metric {
		if len(m.Label) != len(want) {
			continue
		}
		match := true
		for _, l := range m.Label {
			match = match && want[l.GetName()] == l.GetValue()
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMain_Metrics(t *testing.T) {
	rm := startMain(t, sqltest.DSN(t, sqlstore.DialectSQLite))
	c := newAPIClient(t, rm.Addr(), "ws-metrics")
	setupPipeline(c) // 7 accepted requests
	for _, r := range []string{"r1", "r2", "r3"} {
		c.mustApply("resource.created", fxResource(r, "Cluster", map[string]string{}))
	}
	// A partial batch: r4 is applied, the nameless resource refused, r5
	// never tried.
	status, _ := c.postEnvelopes(c.event("resource.created", fxResource("r4", "Cluster", map[string]string{})),
		c.event("resource.created", map[string]any{"id": "bad"}),
		c.event("resource.created", fxResource("r5", "Cluster", map[string]string{})))
	if status != http.StatusBadRequest {
		t.Fatalf("the partial batch answered %d", status)
	}
	if status, _ := c.postEnvelopes(c.event("resource.craeted", fxResource("r6", "Cluster", nil))); status != http.StatusBadRequest {
		t.Fatalf("an unknown event type answered %d", status)
	}
	jobs := decodeAll[apiJob](t, c.list("jobs", ""))
	if len(jobs) != 4 {
		t.Fatalf("%d jobs, want one per target", len(jobs))
	}
	c.mustApply("job.updated", map[string]any{"id": jobs[0].ID, "job": map[string]any{"status": "successful"},
		"fieldsToUpdate": []string{"status"}})
	// From now on every version waits for an approval in prod.
	c.mustApply("policy.created", map[string]any{"id": "gate", "name": "gate", "enabled": true, "selector": "true",
		"metadata": map[string]string{}, "rules": []map[string]any{{"id": "approve", "anyApproval": map[string]any{"minApprovals": 1}}}})
	c.mustApply("deployment-version.created", fxVersion("v2", "api"))
	const accepted = 7 + 3 + 3

	fams := scrape(t, rm.Addr())
	for name, fam := range fams {
		if strings.HasPrefix(name, "gatehouse_") && len(fam.GetHelp()) < 10 {
			t.Errorf("%s has no help text", name)
		}
	}
	want := []struct {
		name   string
		labels []string
		value  float64
	}{
		{"gatehouse_events_applied_total", []string{"type", "resource.created"}, 4},
		{"gatehouse_events_applied_total", []string{"type", "deployment-version.created"}, 2},
		{"gatehouse_events_applied_total", []string{"type", "job.updated"}, 1},
		{"gatehouse_events_rejected_total", []string{"type", "resource.created", "code", "invalid"}, 1},
		{"gatehouse_events_rejected_total", []string{"type", "unknown", "code", "invalid"}, 1},
		{"gatehouse_http_request_duration_seconds", []string{"method", "POST", "route", "/v1/workspaces/{ws}/events", "code", "202"}, accepted},
		{"gatehouse_http_request_duration_seconds", []string{"method", "POST", "route", "/v1/workspaces/{ws}/events", "code", "400"}, 2},
		{"gatehouse_http_request_duration_seconds", []string{"method", "GET", "route", "/v1/workspaces/{ws}/jobs", "code", "200"}, 1},
		{"gatehouse_workspaces_loaded", nil, 1},
		{"gatehouse_release_targets", nil, 4},
		{"gatehouse_release_targets_waiting", []string{"reason", "approval"}, 4},
		{"gatehouse_release_targets_waiting", []string{"reason", "window"}, 0},
		{"gatehouse_approvals_pending", nil, 1},
		{"gatehouse_jobs", []string{"status", "pending", "agent_type", "custom"}, 3},
		{"gatehouse_jobs", []string{"status", "successful", "agent_type", "custom"}, 1},
		{"gatehouse_scheduler_lag_seconds", nil, 0},
		{"gatehouse_build_info", []string{"version", "(devel)", "commit", "", "goversion", runtime.Version()}, 1},
	}
	for _, w := range want {
		got, ok := sample(fams, w.name, w.labels...)
		if !ok || got != w.value {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
	// Every accepted request committed once; background work may have
	// committed more.
	if n, ok := sample(fams, "gatehouse_db_commit_duration_seconds", "outcome", "ok"); !ok || n < accepted {
		t.Errorf("%v commits observed, want at least %d", n, accepted)
	}
	if n, ok := sample(fams, "gatehouse_db_commit_rows"); !ok || n < accepted {
		t.Errorf("%v row counts observed, want at least %d", n, accepted)
	}
	for _, name := range []string{"gatehouse_restore_duration_seconds", "gatehouse_jobs_waiting_for_dispatch",
		"go_goroutines", "process_start_time_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}

	// The approval releases the targets: nothing waits, nothing is pending.
	c.mustApply("user-approval-record.created", map[string]any{"versionId": "v2", "environmentId": "prod",
		"userId": "alice", "status": "approved"})
	fams = scrape(t, rm.Addr())
	if v, _ := sample(fams, "gatehouse_release_targets_waiting", "reason", "approval"); v != 0 {
		t.Errorf("%v targets still wait for an approval after it was given", v)
	}
	if v, _ := sample(fams, "gatehouse_approvals_pending"); v != 0 {
		t.Errorf("%v approvals pending after it was given", v)
	}
}
