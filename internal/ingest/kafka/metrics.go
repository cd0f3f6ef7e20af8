package kafka

import "github.com/prometheus/client_golang/prometheus"

// metrics are the intake's Prometheus metrics.
type metrics struct {
	records   *prometheus.CounterVec
	lag       *prometheus.GaugeVec
	assigned  prometheus.Gauge
	submitted *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_kafka_records_total",
			Help: "Kafka records consumed, by outcome: applied, dead_letter, replayed (applied before)."}, []string{"outcome"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gatehouse_partition_lag",
			Help: "Records of an assigned partition not yet applied, as of the last poll."}, []string{"partition"}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatehouse_partitions_assigned",
			Help: "Partitions of the topic assigned to this process."}),
		submitted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_kafka_submitted_total",
			Help: "HTTP event requests produced to Kafka, by how they were answered: committed, refused, timeout, failed."},
			[]string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.lag, m.assigned, m.submitted)
	}
	return m
}
