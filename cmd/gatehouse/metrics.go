package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-dev/gatehouse/internal/telemetry"
)

// registerMetrics registers on reg the collectors of the process and of
// the engine's state; the API, the dispatcher and the database register
// their own.
func (m *Main) registerMetrics(reg *prometheus.Registry) {
	b := readBuildInfo()
	commit := b.Commit
	if b.Modified {
		commit += "-modified"
	}
	m.restoreTime = telemetry.NewRestoreDuration()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		telemetry.NewBuildInfo(b.Version, commit, b.Go), m.restoreTime,
		telemetry.NewState(m.engine, m.engine.Now))
}
