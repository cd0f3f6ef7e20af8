package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Source is the engine whose state the gauges read.
type Source interface {
	// Workspaces returns the ids of the workspaces loaded.
	Workspaces() []string
	// Workspace returns a loaded workspace.
	Workspace(id string) (*engine.Workspace, bool)
}

// waitReasons name, for the targets-waiting gauge, the rule kinds a
// target's state says it waits on. A kind not listed is its own reason.
var waitReasons = map[string]string{
	policy.KindAnyApproval:            "approval",
	policy.KindEnvironmentProgression: "progression",
	policy.KindGradualRollout:         "rollout",
	policy.KindDeploymentWindow:       "window",
	policy.KindVersionCooldown:        "cooldown",
	policy.KindVersionSelector:        "version_selector",
	policy.KindDeploymentDependency:   "dependency",
	policy.KindFreeze:                 "freeze",
}

var (
	descWorkspaces = prometheus.NewDesc("gatehouse_workspaces_loaded",
		"Workspaces loaded in memory.", nil, nil)
	descTargets = prometheus.NewDesc("gatehouse_release_targets",
		"Release targets (resource × environment × deployment) of every workspace.", nil, nil)
	descWaiting = prometheus.NewDesc("gatehouse_release_targets_waiting",
		"Release targets with a newer version held back, by the kind of rule holding it (approval, progression, rollout, "+
			"window, cooldown, version_selector, dependency, freeze); a target held by two kinds counts under both.",
		[]string{"reason"}, nil)
	descApprovals = prometheus.NewDesc("gatehouse_approvals_pending",
		"Approvals awaited: (version, environment) pairs whose version an approval rule holds back on at least one target.",
		nil, nil)
	descJobs = prometheus.NewDesc("gatehouse_jobs",
		"Jobs of every workspace, by status and by the type of their job agent (unknown when the agent is gone).",
		[]string{"status", "agent_type"}, nil)
	descLag = prometheus.NewDesc("gatehouse_scheduler_lag_seconds",
		"Seconds since the earliest evaluation a target asked for fell due, while it has not run (0 when none is overdue).",
		nil, nil)
)

// State is a prometheus.Collector of gauges over the engine's committed
// state, computed from each workspace's snapshot at every scrape: the cost
// is one pass over the targets and jobs per scrape, and nothing on the path
// of an event. It is safe for concurrent use.
type State struct {
	src Source
	now func() time.Time
}

// NewState returns the collector over src; now is the clock the scheduler
// lag is measured with (the engine's).
func NewState(src Source, now func() time.Time) *State {
	if now == nil {
		now = time.Now
	}
	return &State{src: src, now: now}
}

// Describe implements prometheus.Collector.
func (s *State) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWorkspaces, descTargets, descWaiting, descApprovals, descJobs, descLag} {
		ch <- d
	}
}

// stateCounts are the sums over every workspace.
type stateCounts struct {
	workspaces, targets int
	waiting             map[string]int
	approvals           int
	jobs                map[[2]string]int
	earliestDue         time.Time
}

// Collect implements prometheus.Collector.
func (s *State) Collect(ch chan<- prometheus.Metric) {
	c := stateCounts{waiting: map[string]int{}, jobs: map[[2]string]int{}}
	for _, reason := range waitReasons {
		c.waiting[reason] = 0 // a reason with no target shows as 0, not as absent
	}
	for _, id := range s.src.Workspaces() {
		if ws, ok := s.src.Workspace(id); ok {
			c.workspaces++
			c.add(ws.Store().Snapshot())
		}
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descWorkspaces, float64(c.workspaces))
	gauge(descTargets, float64(c.targets))
	for reason, n := range c.waiting {
		gauge(descWaiting, float64(n), reason)
	}
	gauge(descApprovals, float64(c.approvals))
	for k, n := range c.jobs {
		gauge(descJobs, float64(n), k[0], k[1])
	}
	lag := 0.0
	if !c.earliestDue.IsZero() {
		lag = max(s.now().Sub(c.earliestDue).Seconds(), 0)
	}
	gauge(descLag, lag)
}

// add counts one workspace's snapshot.
func (c *stateCounts) add(snap store.Snapshot) {
	c.targets += store.ReleaseTargets.Count(snap)
	approvals := map[[2]string]bool{}
	for _, st := range store.TargetStates.Items(snap) {
		for _, kind := range st.WaitingOn {
			reason, ok := waitReasons[kind]
			if !ok {
				reason = kind
			}
			c.waiting[reason]++
		}
		if len(st.AwaitingApproval) > 0 {
			if t, err := store.ReleaseTargets.Get(snap, st.Key); err == nil {
				for _, v := range st.AwaitingApproval {
					approvals[[2]string{v, t.EnvironmentID}] = true
				}
			}
		}
		if due := st.NextEvaluation; !due.IsZero() && (c.earliestDue.IsZero() || due.Before(c.earliestDue)) {
			c.earliestDue = due
		}
	}
	c.approvals += len(approvals)
	agentTypes := map[string]string{}
	for _, a := range store.JobAgents.Items(snap) {
		agentTypes[a.ID] = a.Type
	}
	for _, j := range store.Jobs.Items(snap) {
		c.jobs[[2]string{j.Status, agentTypeOf(agentTypes, j)}]++
	}
}

func agentTypeOf(types map[string]string, j *model.Job) string {
	if t, ok := types[j.JobAgentID]; ok && t != "" {
		return t
	}
	return "unknown"
}
