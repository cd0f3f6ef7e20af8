package telemetry

import "github.com/prometheus/client_golang/prometheus"

// NewBuildInfo returns the gatehouse_build_info gauge, 1 with the binary's
// version, commit and Go version as labels, for joins in queries
// ("which version runs where").
func NewBuildInfo(version, commit, goVersion string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatehouse_build_info",
		Help:        "Always 1; the labels say which build runs: version, commit and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "goversion": goVersion}})
	g.Set(1)
	return g
}

// NewRestoreDuration returns the gatehouse_restore_duration_seconds gauge,
// which the server sets once every workspace is restored at start.
func NewRestoreDuration() prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatehouse_restore_duration_seconds",
		Help: "Seconds the restore of every workspace took at start (0 while it runs)."})
}
