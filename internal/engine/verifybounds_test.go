package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// Tests of what verifications may reach and keep: private targets refused
// unless allowed, measurements stored as bounded rows of their own.

// countingServer answers /health with 200 and counts the requests it gets.
func countingServer(t *testing.T, body string) (*httptest.Server, *atomic.Int32) {
	calls := new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

// TestEngine_Verification_RefusesPrivateTargets: by default a metric cannot
// reach the engine's own host, whether its URL names the address or a name
// that resolves to it; the measurement fails saying why and nothing is sent.
func TestEngine_Verification_RefusesPrivateTargets(t *testing.T) {
	srv, calls := countingServer(t, `{"healthy": true}`)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for name, url := range map[string]string{"address": srv.URL, "name": fmt.Sprintf("http://localhost:%d", port)} {
		t.Run(name, func(t *testing.T) {
			h, _, _ := newScheduledHarness(t) // VerificationAllowPrivate unset
			t.Cleanup(h.eng.Close)
			world(h, "r1")
			h.must("policy.created", verificationPolicy(url, 1, 1))
			h.must("deployment-version.created", version("v1", t0, ""))
			job := h.onlyJob(prodKey("r1"))
			h.finish(job.ID, model.JobSuccessful)
			until(t, "the verification to fail", hasStatus(h, job.ID, model.VerificationFailed))

			m := h.verificationOf(job.ID).Metrics[0].Measurements
			if len(m) != 1 || m[0].Status != model.MeasurementFailed || !strings.Contains(m[0].Message, "a loopback address") ||
				!strings.Contains(m[0].Message, "--verification-allow-private") {
				t.Errorf("measurements %+v, want one failed naming the loopback address and the flag", m)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("the private target got %d requests", n)
			}
		})
	}
}

// TestEngine_Verification_MeasurementsAreRows: each measurement is a row of
// verification_measurement, in order, with what it keeps of a large
// response bounded; the verification's own row does not grow. On both
// databases.
func TestEngine_Verification_MeasurementsAreRows(t *testing.T) {
	big := `{"healthy": true, "pad": "` + strings.Repeat("x", 1<<20) + `"}`
	srv, _ := countingServer(t, big)
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			clock := &fakeClock{now: t0}
			timers := &fakeTimers{clock: clock}
			h := newHarnessWith(t, Config{Persister: db, Loader: db, Clock: clock.Now, AfterFunc: timers.AfterFunc,
				Logger: slog.New(slog.DiscardHandler), VerificationAllowPrivate: true})
			t.Cleanup(h.eng.Close)
			world(h, "r1")
			policy := verificationPolicy(srv.URL, 3, 0)
			metric := policy["rules"].([]map[string]any)[0]["verification"].(map[string]any)["metrics"].([]any)[0].(map[string]any)
			metric["successCondition"] = "result.json.healthy" // judged on the whole response
			h.must("policy.created", policy)
			h.must("deployment-version.created", version("v1", t0, ""))
			job := h.onlyJob(prodKey("r1"))
			h.finish(job.ID, model.JobSuccessful)
			for n := 1; n < 3; n++ {
				until(t, "a measurement", measured(h, job.ID, n))
				// The clock moves only by firing the timer: moved first, it
				// could let the next measurement run at once, unseen.
				armedAfter(t, timers, clock.Now()).fire()
			}
			until(t, "the verification to pass", hasStatus(h, job.ID, model.VerificationPassed))

			st, err := store.New(h.ws)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.LoadWorkspace(context.Background(), h.ws, st); err != nil {
				t.Fatal(err)
			}
			snap := st.Snapshot()
			doc := store.VerificationsByJob.Get(snap, job.ID)
			if len(doc) != 1 || len(doc[0].Metrics[0].Measurements) != 0 || doc[0].Status != model.VerificationPassed {
				t.Fatalf("stored verification %+v, want passed with no measurements inside", doc)
			}
			rows := store.MeasurementsByVerification.Get(snap, doc[0].ID)
			if len(rows) != 3 {
				t.Fatalf("%d measurement rows, want 3", len(rows))
			}
			view := VerificationView(snap, doc[0]).Metrics[0].Measurements
			for i, m := range view {
				body, _ := m.Data["body"].(string)
				if m.Status != model.MeasurementPassed || len(body) != 4096 || m.Data["bodyTruncated"] != true ||
					m.Data["jsonOmitted"] != true || m.Data["json"] != nil {
					t.Errorf("measurement %d: status %s, body of %d bytes, data keys %v; want passed, 4 KiB of body kept, json left out",
						i, m.Status, len(body), keys(m.Data))
				}
				if i > 0 && !m.MeasuredAt.After(view[i-1].MeasuredAt) {
					t.Errorf("measurement %d at %v, not after the one before", i, m.MeasuredAt)
				}
			}
		})
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestVerificationView_LegacyMeasurementsFirst: a verification recorded
// before measurements had rows keeps them in its document; they come
// first, then the rows, in sequence order whatever their key order.
func TestVerificationView_LegacyMeasurementsFirst(t *testing.T) {
	st, err := store.New("ws")
	if err != nil {
		t.Fatal(err)
	}
	at := func(m int) model.VerificationMeasurement {
		return model.VerificationMeasurement{Status: model.MeasurementPassed, MeasuredAt: t0.Add(time.Duration(m) * time.Minute)}
	}
	v := &model.JobVerification{ID: "ver", JobID: "job", Status: model.VerificationRunning, Metrics: []model.VerificationMetricStatus{
		{VerificationMetric: model.VerificationMetric{Name: "a", Count: 20}, Measurements: []model.VerificationMeasurement{at(0)}},
		{VerificationMetric: model.VerificationMetric{Name: "b", Count: 20}},
	}}
	tx := st.Begin(context.Background())
	defer tx.Abort()
	if err := store.JobVerifications.Upsert(tx, v.ID, v); err != nil {
		t.Fatal(err)
	}
	// Sequences 1, 2 and 10 of metric a (key order puts 10 before 2), 0 of b.
	for _, r := range []model.MeasurementRecord{{MetricIndex: 0, Sequence: 10, VerificationMeasurement: at(10)},
		{MetricIndex: 0, Sequence: 2, VerificationMeasurement: at(2)}, {MetricIndex: 1, Sequence: 0, VerificationMeasurement: at(5)},
		{MetricIndex: 0, Sequence: 1, VerificationMeasurement: at(1)}} {
		r.VerificationID = v.ID
		if err := store.VerificationMeasurements.Upsert(tx, r.Key(), &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	view := JobVerifications(st.Snapshot(), "job")
	if len(view) != 1 {
		t.Fatalf("%d verifications of the job", len(view))
	}
	var got [][]int
	for _, m := range view[0].Metrics {
		var minutes []int
		for _, x := range m.Measurements {
			minutes = append(minutes, int(x.MeasuredAt.Sub(t0).Minutes()))
		}
		got = append(got, minutes)
	}
	if fmt.Sprint(got) != "[[0 1 2 10] [5]]" {
		t.Errorf("measurements by metric (minutes after t0): %v, want [[0 1 2 10] [5]]", got)
	}
	if len(v.Metrics[0].Measurements) != 1 {
		t.Error("the view changed the stored verification")
	}
}

// TestNextMeasurement_StoredUnboundedMetric: a metric stored before count
// and interval were bounded (a billion measurements, no interval) waits a
// second between measurements and stops at 1,000.
func TestNextMeasurement_StoredUnboundedMetric(t *testing.T) {
	v := &model.JobVerification{Metrics: []model.VerificationMetricStatus{{VerificationMetric: model.VerificationMetric{
		Name: "m", Count: 1_000_000_000, IntervalSeconds: 0, SuccessCondition: "false"}}}}
	ms := [][]model.VerificationMeasurement{{{Status: model.MeasurementInconclusive, MeasuredAt: t0}}}
	if i, wait := nextMeasurement(v, ms, t0); i != 0 || wait != time.Second {
		t.Errorf("after one measurement: metric %d in %v, want metric 0 in 1s", i, wait)
	}
	for len(ms[0]) < 1000 {
		ms[0] = append(ms[0], ms[0][0])
	}
	if i, _ := nextMeasurement(v, ms, t0); i != -1 {
		t.Errorf("after 1,000 measurements metric %d is still measured", i)
	}
}
