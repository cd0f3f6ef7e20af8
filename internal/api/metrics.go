package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus collectors; a nil *metrics records
// nothing.
type metrics struct {
	events  *prometheus.CounterVec
	latency prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_events_total", Help: "Events received over HTTP, by outcome code (empty = applied).",
		}, []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gatehouse_event_request_seconds", Help: "Time to apply one events request, commit included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	reg.MustRegister(m.events, m.latency)
	return m
}

func (m *metrics) observeEvents(n int, code string, d time.Duration) {
	if m == nil {
		return
	}
	if code == "" {
		code = "ok"
	}
	m.events.WithLabelValues(code).Add(float64(n))
	m.latency.Observe(d.Seconds())
}
