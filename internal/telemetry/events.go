// Package telemetry holds Gatehouse's Prometheus metrics over the engine:
// the events intake applied and rejected, and gauges over every
// workspace's committed state, computed from snapshots when Prometheus
// scrapes, never kept up to date on the path of an event.
package telemetry

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// unknownType labels events whose type Gatehouse does not know (or could
// not read), so that a caller's typos make no new series.
const unknownType = "unknown"

// Events counts the events an intake was given, by type: those applied,
// and those rejected by error code. A nil *Events counts nothing.
type Events struct {
	applied  *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

// NewEvents registers the event counters on reg; nil when reg is nil.
func NewEvents(reg prometheus.Registerer) *Events {
	if reg == nil {
		return nil
	}
	m := &Events{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_events_applied_total",
			Help: "Events applied and committed, by event type."}, []string{"type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_events_rejected_total",
			Help: "Events refused, by event type and error code (invalid, conflict, not_found, unavailable, internal, unauthorized)."},
			[]string{"type", "code"}),
	}
	reg.MustRegister(m.applied, m.rejected)
	return m
}

// Observe counts what applying events (with engine.Apply or
// engine.ApplyBatch) answered err. An *engine.EventError tells which
// event failed: the events before it are applied, it is rejected, and the
// events after it are neither (they were never tried). Any other error
// refused the whole call (a failed commit, a server not taking events):
// every event is rejected, or one of unknown type when none was decoded.
func (m *Events) Observe(events []engine.Event, err error) {
	if m == nil {
		return
	}
	if err == nil {
		for _, ev := range events {
			m.applied.WithLabelValues(typeLabel(ev.Type)).Inc()
		}
		return
	}
	code := model.ErrorCode(err)
	var ee *engine.EventError
	if errors.As(err, &ee) {
		for _, ev := range events[:min(ee.Applied, len(events))] {
			m.applied.WithLabelValues(typeLabel(ev.Type)).Inc()
		}
		m.rejected.WithLabelValues(typeLabel(ee.Type), code).Inc()
		return
	}
	if len(events) == 0 {
		m.rejected.WithLabelValues(unknownType, code).Inc()
	}
	for _, ev := range events {
		m.rejected.WithLabelValues(typeLabel(ev.Type), code).Inc()
	}
}

func typeLabel(t string) string {
	if engine.IsEventType(t) {
		return t
	}
	return unknownType
}
