package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/verification"
)

// Verification triggers: the job event after which metrics are measured.
const (
	triggerJobCreated = "jobCreated"
	triggerJobStarted = "jobStarted"
	triggerJobSuccess = "jobSuccess"
	triggerJobFailure = "jobFailure"
)

// triggerOf returns the trigger a job status change fires, or "".
func triggerOf(status string) string {
	switch status {
	case model.JobInProgress:
		return triggerJobStarted
	case model.JobSuccessful:
		return triggerJobSuccess
	case model.JobFailure:
		return triggerJobFailure
	}
	return ""
}

// startVerifications starts a verification for every verification rule of
// the job's target's policies that fires on trigger. The measurements run
// after the unit commits.
func (u *unit) startVerifications(j *model.Job, trigger string) error {
	if trigger == "" {
		return nil
	}
	policies := enabledPolicies(u.tx)
	if !slices.ContainsFunc(policies, hasVerification) {
		return nil // the common case: skip matching policies to the target
	}
	t := jobTarget(u.tx, j)
	if t == nil {
		return nil
	}
	te, err := loadTarget(u.tx, t)
	if err != nil {
		return nil // the target is gone; nothing to verify against
	}
	p := &planner{logger: u.engine.cfg.Logger, r: u.tx, now: u.tx.Now(), policies: policies}
	matching, err := p.matchingPolicies(te)
	if err != nil {
		return err
	}
	for _, pol := range matching {
		for i := range pol.Rules {
			rule := &pol.Rules[i]
			v := rule.Verification
			if v == nil || (v.TriggerOn != trigger && !(v.TriggerOn == "" && trigger == triggerJobSuccess)) {
				continue
			}
			ver := &model.JobVerification{ID: uuid.NewString(), JobID: j.ID, RuleID: rule.ID,
				Status: model.VerificationRunning, CreatedAt: u.tx.Now()}
			for _, m := range v.Metrics {
				ver.Metrics = append(ver.Metrics, model.VerificationMetricStatus{VerificationMetric: m,
					Measurements: []model.VerificationMeasurement{}})
			}
			if err := store.JobVerifications.Upsert(u.tx, ver.ID, ver); err != nil {
				return err
			}
			u.verifications = append(u.verifications, ver.ID)
		}
	}
	return nil
}

func hasVerification(p *model.Policy) bool {
	return slices.ContainsFunc(p.Rules, func(r model.PolicyRule) bool { return r.Verification != nil })
}

// verify measures a running verification in the background, one
// measurement at a time, each recorded as its own unit of work. It stops
// when the verification is no longer running, the workspace is unloaded or
// the engine closes; after a restart it resumes from the measurements
// stored.
func (e *Engine) verify(ws *Workspace, id string) {
	if _, running := ws.measuring.LoadOrStore(id, true); running {
		return
	}
	e.loops.Add(1)
	go func() {
		defer e.loops.Done()
		defer ws.measuring.Delete(id)
		for {
			v, err := store.JobVerifications.Get(ws.Store().Snapshot(), id)
			if err != nil || v.Status != model.VerificationRunning {
				return
			}
			i, wait := nextMeasurement(v, measurementsOf(ws.Store().Snapshot(), v), e.cfg.Clock())
			if i < 0 {
				return
			}
			if err := e.sleepCtx(ws.ctx, wait); err != nil {
				return
			}
			// Each measurement is background work with a trace of its own:
			// the provider's query, then the unit of work recording it.
			ctx, span := startSpan(ws.ctx, "engine.Measure", workspaceAttr(ws.ID), attribute.String("verification.id", id))
			m := e.measureFor(ctx, ws, v, i)
			if ws.ctx.Err() != nil {
				span.End()
				return // shutting down or unloaded: a measurement cut short is no measurement
			}
			err = e.work(ctx, ws, Event{Type: "verification.measured"}, func(u *unit) error {
				return u.recordMeasurement(id, i, m)
			})
			endSpan(span, err)
			if err != nil {
				e.cfg.Logger.Error("recording a measurement failed; retrying in a minute", "workspace", ws.ID,
					"verification", id, "err", err)
				if e.sleepCtx(ws.ctx, time.Minute) != nil {
					return
				}
			}
		}
	}()
}

// nextMeasurement picks the unfinished metric with the fewest measurements
// and how long to wait before measuring it (its interval after its last
// measurement); -1 when every metric is finished. ms holds each metric's
// measurements, in order.
func nextMeasurement(v *model.JobVerification, ms [][]model.VerificationMeasurement, now time.Time) (int, time.Duration) {
	best := -1
	for i := range v.Metrics {
		if done, _ := verification.Outcome(verification.Bounded(&v.Metrics[i].VerificationMetric), statuses(ms[i])); done {
			continue
		}
		if best < 0 || len(ms[i]) < len(ms[best]) {
			best = i
		}
	}
	if best < 0 {
		return -1, 0
	}
	if len(ms[best]) == 0 {
		return best, 0
	}
	interval := verification.Bounded(&v.Metrics[best].VerificationMetric).IntervalSeconds
	due := ms[best][len(ms[best])-1].MeasuredAt.Add(model.DurationOf(int64(interval), time.Second))
	return best, max(due.Sub(now), 0)
}

func statuses(ms []model.VerificationMeasurement) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Status
	}
	return out
}

// measure takes one measurement of a metric; a provider that cannot be
// built or fails to answer gives a failed measurement saying why. The
// conditions judge the whole result; what is kept of it is bounded
// (verification.Kept).
func (e *Engine) measure(ctx context.Context, m *model.VerificationMetric) model.VerificationMeasurement {
	out := model.VerificationMeasurement{MeasuredAt: e.cfg.Clock().UTC()}
	deps := verification.Deps{Client: e.cfg.HTTPClient, Sleep: e.sleepCtx, AllowPrivate: e.cfg.VerificationAllowPrivate}
	p, err := verification.NewProvider(m.Provider, deps)
	if err == nil {
		var result map[string]any
		if result, err = p.Measure(ctx); err == nil {
			out.Status, out.Message = verification.Judge(m, result)
			out.Message = verification.KeptMessage(out.Message)
			out.Data = verification.Kept(result)
			out.MeasuredAt = e.cfg.Clock().UTC()
			return out
		}
	}
	out.Status, out.Message = model.MeasurementFailed, verification.KeptMessage(err.Error())
	out.MeasuredAt = e.cfg.Clock().UTC()
	return out
}

// recordMeasurement stores a measurement as a row of its own and, when
// that decides the verification, finishes it: the target is re-evaluated
// (a passed verification can make the job's release current) and a failed
// one can roll back. The verification's document is written only when its
// status changes, so it does not grow with its measurements.
func (u *unit) recordMeasurement(id string, metric int, m model.VerificationMeasurement) error {
	cur, err := store.JobVerifications.Get(u.tx, id)
	if err != nil || cur.Status != model.VerificationRunning || metric >= len(cur.Metrics) {
		return nil
	}
	ms := measurementsOf(u.tx, cur)
	rec := &model.MeasurementRecord{VerificationID: id, MetricIndex: metric, Sequence: len(ms[metric]),
		VerificationMeasurement: m}
	if err := store.VerificationMeasurements.Upsert(u.tx, rec.Key(), rec); err != nil {
		return err
	}
	ms[metric] = append(ms[metric], m)
	status, message := verdict(cur, ms)
	if status == model.VerificationRunning {
		return nil
	}
	next := *cur
	next.Status, next.Message = status, message
	if err := store.JobVerifications.Upsert(u.tx, id, &next); err != nil {
		return err
	}
	j, err := store.Jobs.Get(u.tx, next.JobID)
	if err != nil {
		return nil
	}
	t := jobTarget(u.tx, j)
	if t == nil || !store.ReleaseTargets.Has(u.tx, t.Key()) {
		return nil
	}
	u.markTarget(t)
	// A passed verification makes the job's release current and lets
	// rules that wait for verified successes count it.
	u.markDependents(t)
	if next.Status == model.VerificationFailed {
		return u.rollback(t, j, func(rb *model.RollbackRule) bool { return rb.OnVerificationFailure })
	}
	return nil
}

// verdict is a verification's status from its metrics' measurements:
// failed as soon as one metric failed, passed when all passed, running
// otherwise.
func verdict(v *model.JobVerification, ms [][]model.VerificationMeasurement) (string, string) {
	passed := 0
	for i := range v.Metrics {
		m := &v.Metrics[i]
		done, ok := verification.Outcome(verification.Bounded(&m.VerificationMetric), statuses(ms[i]))
		switch {
		case done && !ok:
			return model.VerificationFailed, fmt.Sprintf("metric %s failed", m.Name)
		case done:
			passed++
		}
	}
	if passed == len(v.Metrics) {
		return model.VerificationPassed, "every metric passed"
	}
	return model.VerificationRunning, ""
}

// sleepCtx waits d through the engine's timers, so that tests with fake
// timers never sleep; it fails when ctx ends.
func (e *Engine) sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	done := make(chan struct{})
	t := e.cfg.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// resumeVerifications restarts the measurement of every verification still
// running in a restored workspace.
func (e *Engine) resumeVerifications(ws *Workspace) {
	for _, v := range store.VerificationsByStatus.Get(ws.Store().Snapshot(), model.VerificationRunning) {
		e.verify(ws, v.ID)
	}
}
