package dispatch

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the dispatcher's Prometheus collectors; a nil *metrics
// records nothing.
type metrics struct {
	dispatches *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	follows    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		dispatches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_dispatches_total",
			Help: "Attempts to hand jobs to their agents, by agent type and outcome (delivered, retry, failed)."},
			[]string{"agent_type", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_dispatch_duration_seconds",
			Help: "Time one attempt to hand a job to its agent took.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)},
			[]string{"agent_type"}),
		follows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_follower_polls_total",
			Help: "Polls of agents about the jobs they run, by agent type and outcome (ok, error)."},
			[]string{"agent_type", "outcome"}),
	}
	reg.MustRegister(m.dispatches, m.latency, m.follows)
	return m
}

// registerWaiting exports the number of jobs waiting to be handed over.
func (d *Dispatcher) registerWaiting(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_jobs_waiting_for_dispatch",
		Help: "Jobs waiting to be handed to their agents (first attempts and retries)."}, func() float64 {
		d.mu.Lock()
		defer d.mu.Unlock()
		n := 0
		for _, t := range d.tasks {
			if t.kind == send {
				n++
			}
		}
		return float64(n)
	}))
}

func (m *metrics) dispatched(agentType, outcome string) {
	if m != nil {
		m.dispatches.WithLabelValues(agentType, outcome).Inc()
	}
}

func (m *metrics) observeDispatch(agentType string, d time.Duration) {
	if m != nil {
		m.latency.WithLabelValues(agentType).Observe(d.Seconds())
	}
}

func (m *metrics) followed(agentType, outcome string) {
	if m != nil {
		m.follows.WithLabelValues(agentType, outcome).Inc()
	}
}
