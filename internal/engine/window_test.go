package engine

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

func windowRule(rrule string, minutes int) map[string]any {
	return map[string]any{"deploymentWindow": map[string]any{"rrule": rrule, "durationMinutes": minutes}}
}

// TestEngine_DeploymentWindow_RefusesCostlyRules: windows that would take
// long to evaluate, or never open, are refused when written, naming the
// field (item: a window RRULE can stall a workspace).
func TestEngine_DeploymentWindow_RefusesCostlyRules(t *testing.T) {
	const field = "policy.rules[0].deploymentWindow."
	wantRefused(t, []hostileRule{
		{"secondly with a huge COUNT", windowRule("FREQ=SECONDLY;COUNT=2000000000", 60), field + "rrule"},
		{"COUNT over the bound", windowRule("FREQ=DAILY;COUNT=5001", 60), field + "rrule"},
		{"secondly from 1970", windowRule("DTSTART:19700101T000000Z\nRRULE:FREQ=SECONDLY", 60), field + "rrule"},
		{"secondly, one-minute windows", windowRule("FREQ=SECONDLY", 1), field + "rrule"},
		{"twice a minute, day-long windows", windowRule("FREQ=SECONDLY;INTERVAL=30", 24*60), field + "rrule"},
		{"a clock the interval never reaches", windowRule("FREQ=HOURLY;INTERVAL=2;BYHOUR=1", 60), field + "rrule"},
		{"a day that never comes", windowRule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", 60), field + "rrule"},
		{"over before now", windowRule("FREQ=DAILY;UNTIL=20200101T000000Z", 60), field + "rrule"},
		{"unknown timezone", map[string]any{"deploymentWindow": map[string]any{"rrule": "FREQ=DAILY", "durationMinutes": 60,
			"timezone": "Mars/Olympus_Mons"}}, field + "timezone"},
	})
}

// TestEngine_DeploymentWindow_DTSTARTInThePast: a window counted from an
// explicit DTSTART decades ago is accepted and keeps its phase and time of
// day.
func TestEngine_DeploymentWindow_DTSTARTInThePast(t *testing.T) {
	h, _, _ := newScheduledHarness(t)
	t.Cleanup(h.eng.Close)
	world(h, "r1")
	h.must("deployment-version.created", version("v1", t0.Add(-time.Hour), ""))
	h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)
	rule := windowRule("DTSTART:19700101T093000Z\nRRULE:FREQ=DAILY;INTERVAL=3", 60)
	rule["id"] = "window"
	h.must("policy.created", policyOf("window", "true", rule))
	h.must("deployment-version.created", version("v2", t0, ""))

	ws, _ := h.eng.Workspace(h.ws)
	ev, err := h.eng.Evaluate(ws.Store().Snapshot(), prodKey("r1"), "v2")
	if err != nil {
		t.Fatal(err)
	}
	// Every third day from 1970-01-01: 2025-03-01 is one (20,148 days on),
	// and its window closed at 10:30; the next opens three days later.
	want := time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)
	if ev.Allowed || ev.NextEvaluationTime == nil || !ev.NextEvaluationTime.Equal(want) {
		t.Fatalf("at %v: allowed %v, next %v, want pending until %v (%s)", t0, ev.Allowed, ev.NextEvaluationTime, want, ev.Message)
	}
}

// TestEngine_DeploymentWindow_StoredCostlyRule: a costly rule written before
// the write-time checks, and so still in the database, is answered at once
// (denied, saying why) by every evaluation, a restart's included, on both
// databases.
func TestEngine_DeploymentWindow_StoredCostlyRule(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			clock := &fakeClock{now: t0}
			quiet := slog.New(slog.DiscardHandler)
			cfg := Config{Persister: db, Loader: db, Clock: clock.Now, AfterFunc: (&fakeTimers{clock: clock}).AfterFunc, Logger: quiet}
			h := newHarnessWith(t, cfg)
			world(h, "r1")
			h.must("deployment-version.created", version("v1", t0.Add(-time.Hour), ""))
			h.finish(h.onlyJob(prodKey("r1")).ID, model.JobSuccessful)

			// Bypass the engine's checks, as an older version's data does.
			ws, _ := h.eng.Workspace(h.ws)
			tx := ws.Store().Begin(context.Background())
			p := &model.Policy{ID: "old", WorkspaceID: h.ws, Name: "old", Enabled: true, Selector: "true", CreatedAt: t0,
				Rules: []model.PolicyRule{{ID: "window", PolicyID: "old", CreatedAt: t0,
					DeploymentWindow: &model.DeploymentWindowRule{RRule: "FREQ=SECONDLY;COUNT=2000000000", DurationMinutes: 60}}}}
			if err := store.Policies.Upsert(tx, p.ID, p); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			h.must("deployment-version.created", version("v2", t0, ""))
			wantTooCostly(t, h)

			h.eng.Close()
			h.eng = New(cfg)
			t.Cleanup(h.eng.Close)
			if err := h.eng.Restore(context.Background()); err != nil {
				t.Fatal(err)
			}
			wantTooCostly(t, h)
		})
	}
}

func wantTooCostly(t *testing.T, h *harness) {
	t.Helper()
	ws, _ := h.eng.Workspace(h.ws)
	ev, err := h.eng.Evaluate(ws.Store().Snapshot(), prodKey("r1"), "v2")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Allowed || len(ev.Policies) != 1 || len(ev.Policies[0].Results) != 1 ||
		!strings.Contains(ev.Policies[0].Results[0].Message, "too costly") {
		t.Fatalf("evaluation of v2 under a costly window: %+v", ev)
	}
	if jobs := h.jobsOn(prodKey("r1")); jobVersion(jobs[len(jobs)-1]) != "v1" {
		t.Errorf("v2 got a job under a window that cannot be evaluated")
	}
}
