package sqlstore

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// commitMetrics are the Prometheus collectors of Persist; a nil
// *commitMetrics records nothing.
type commitMetrics struct {
	latency *prometheus.HistogramVec
	rows    prometheus.Histogram
}

// WithRegisterer registers the DB's commit metrics on reg:
// gatehouse_db_commit_duration_seconds{outcome} and gatehouse_db_commit_rows.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(db *DB) {
		m := &commitMetrics{
			latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_db_commit_duration_seconds",
				Help:    "Seconds one batch took to be written and committed to the database, by outcome (ok, failed).",
				Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"outcome"}),
			rows: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gatehouse_db_commit_rows",
				Help:    "Rows (inserted, updated or deleted) per committed batch.",
				Buckets: prometheus.ExponentialBuckets(1, 4, 10)}),
		}
		reg.MustRegister(m.latency, m.rows)
		db.metrics = m
	}
}

func (m *commitMetrics) observe(d time.Duration, rows int, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.latency.WithLabelValues("failed").Observe(d.Seconds())
		return
	}
	m.latency.WithLabelValues("ok").Observe(d.Seconds())
	m.rows.Observe(float64(rows))
}
