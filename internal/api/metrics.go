package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus collectors; a nil *metrics records
// nothing.
type metrics struct {
	latency *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_http_request_duration_seconds",
			Help: "Seconds from a request's arrival to its answer, by method, route pattern and status code; " +
				"an events request includes its database commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)},
			[]string{"method", "route", "code"}),
	}
	reg.MustRegister(m.latency)
	return m
}

func (m *metrics) observeRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.latency.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// routeOf is the path part of a mux pattern ("POST /v1/x/{id}" is
// "/v1/x/{id}"); requests no route takes share one label, so that a scan
// of random paths makes no new series.
func routeOf(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return pattern
}
