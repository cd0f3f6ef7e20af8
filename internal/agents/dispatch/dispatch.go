// Package dispatch hands jobs to their agents and follows them to their
// end (SPEC §8). The jobs table is the outbox: the engine tells the
// dispatcher after each commit which jobs changed (engine.Config.OnJobs),
// and at start the dispatcher reads every workspace's jobs, so nothing
// committed is ever left undispatched. Each attempt's outcome is recorded
// back through the engine, as a unit of work like any event, so dispatch
// resumes where it stood after a restart. Delivery is at least once; the
// job id is the idempotency key agents use.
//
// Every agent has its own lane with a concurrency limit, and nothing here
// holds a workspace's writer while talking to an agent: a slow or dead
// agent delays only its own jobs.
package dispatch

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Defaults of Config.
const (
	DefaultMaxAttempts    = 10
	DefaultBaseBackoff    = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultConcurrency    = 8
	DefaultFollowInterval = 10 * time.Second
	// attemptTimeout bounds one call into an agent, whatever the agent's
	// own request timeouts.
	attemptTimeout = 5 * time.Minute
)

// Config wires a Dispatcher.
type Config struct {
	Engine *engine.Engine
	Agents agents.Registry
	// Opener opens sensitive values; without one, a job carrying any
	// cannot be handed over (invalidIntegration, saying why).
	Opener Opener
	// Clock is the time; time.Now when nil.
	Clock func() time.Time
	// Logger receives operational logs; slog.Default() when nil.
	Logger *slog.Logger
	// Registerer takes the dispatcher's metrics; none when nil.
	Registerer prometheus.Registerer
	// MaxAttempts, BaseBackoff and MaxBackoff shape retries: attempt n
	// waits BaseBackoff·2^(n-1), at most MaxBackoff, with jitter, and
	// after MaxAttempts failed attempts the job fails.
	MaxAttempts             int
	BaseBackoff, MaxBackoff time.Duration
	// Concurrency is the dispatches and follows in flight per agent when
	// its type sets none.
	Concurrency int
	// FollowInterval is how often a job is followed when its type sets
	// no interval.
	FollowInterval time.Duration
	// Owns, when set, says whether this process owns a workspace: only
	// the owner hands its jobs over. Nil owns every workspace.
	Owns func(workspaceID string) bool
}

// Dispatcher hands jobs to their agents. It is safe for concurrent use.
type Dispatcher struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu    sync.Mutex
	tasks map[taskKey]*task
	due   taskHeap
	lanes map[string]*lane
	// recording are jobs whose last outcome is queued for recording: their
	// stored state is behind, so notifications about them are not acted on.
	recording map[taskKey]int
	recorders map[string]*recorder
	wake      chan struct{}
}

// New returns a dispatcher; Start sets it going.
func New(cfg Config) *Dispatcher {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = DefaultBaseBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.FollowInterval <= 0 {
		cfg.FollowInterval = DefaultFollowInterval
	}
	if cfg.Owns == nil {
		cfg.Owns = func(string) bool { return true }
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registerer), ctx: ctx, cancel: cancel,
		tasks: map[taskKey]*task{}, lanes: map[string]*lane{}, recording: map[taskKey]int{},
		recorders: map[string]*recorder{}, wake: make(chan struct{}, 1)}
	d.registerWaiting(cfg.Registerer)
	return d
}

// Start reads every workspace's jobs (the outbox) and starts handing them
// over: pending jobs not yet dispatched, dispatched jobs to follow, claims
// whose lease may run out.
func (d *Dispatcher) Start() {
	for _, id := range d.cfg.Engine.Workspaces() {
		d.Resume(id)
	}
	d.wg.Go(d.loop)
}

// Resume reads one workspace's jobs and schedules what they need, as Start
// does for all: for a workspace this process has just taken over.
func (d *Dispatcher) Resume(workspaceID string) {
	ws, ok := d.cfg.Engine.Workspace(workspaceID)
	if !ok {
		return
	}
	d.Notify(workspaceID, store.Jobs.Items(ws.Store().Snapshot()))
}

// Close stops handing jobs over and waits for the attempts in hand, whose
// outcomes are recorded if the engine still takes them.
func (d *Dispatcher) Close() {
	d.cancel()
	d.wg.Wait()
}

// Notify tells the dispatcher about jobs as a commit left them; it is
// engine.Config.OnJobs and does not block.
func (d *Dispatcher) Notify(workspaceID string, jobs []*model.Job) {
	if !d.cfg.Owns(workspaceID) {
		return
	}
	now := d.cfg.Clock()
	d.mu.Lock()
	for _, j := range jobs {
		k := taskKey{ws: workspaceID, job: j.ID}
		if d.recording[k] > 0 {
			continue // the run that is recording it scheduled what follows
		}
		if t := d.tasks[k]; t != nil && t.running {
			continue
		}
		kind, at, lane := d.needs(workspaceID, j, now)
		if kind == none {
			d.dropLocked(k)
			continue
		}
		d.scheduleLocked(k, kind, at, lane)
	}
	d.mu.Unlock()
	d.poke()
}

// needs says what a job needs from the dispatcher, when, and in which lane.
func (d *Dispatcher) needs(ws string, j *model.Job, now time.Time) (taskKind, time.Time, string) {
	t := d.typeOf(j)
	lane := ws + "/" + j.JobAgentID
	disp := j.Dispatch
	switch {
	case !model.IsProcessingJobStatus(j.Status) || t == nil:
		return none, time.Time{}, ""
	case t.Pull:
		if j.Status != model.JobPending && disp != nil && !disp.LeaseExpiresAt.IsZero() {
			return lease, disp.LeaseExpiresAt, lane
		}
		return none, time.Time{}, ""
	case j.Status == model.JobPending && (disp == nil || disp.DispatchedAt.IsZero()):
		if disp != nil && disp.NextAttemptAt.After(now) {
			return send, disp.NextAttemptAt, lane
		}
		return send, now, lane
	case t.Follower != nil:
		return follow, now.Add(d.followInterval(t)), lane
	}
	return none, time.Time{}, ""
}

// typeOf returns the type of the agent a job was made for, nil when it is
// not a registered type (an invalidJobAgent job, a workflow job on a
// missing agent).
func (d *Dispatcher) typeOf(j *model.Job) *agents.Type {
	if j.DispatchContext == nil {
		return nil
	}
	return d.cfg.Agents[j.DispatchContext.JobAgent.Type]
}

func (d *Dispatcher) followInterval(t *agents.Type) time.Duration {
	if t.FollowInterval > 0 {
		return t.FollowInterval
	}
	return d.cfg.FollowInterval
}

// backoff is the wait before retrying after the n-th failed attempt:
// BaseBackoff doubling, at most MaxBackoff, with the upper half jittered
// so that many jobs failing together do not come back together; at least
// what the agent asked for.
func (d *Dispatcher) backoff(n int, asked time.Duration) time.Duration {
	wait := d.cfg.BaseBackoff
	for i := 1; i < n && wait < d.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, d.cfg.MaxBackoff)
	wait = wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
	return max(wait, asked)
}
