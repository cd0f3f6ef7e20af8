// Package engine applies workspace events: it validates each event, changes
// the workspace's store, keeps release targets up to date, and commits the
// whole effect of the event as one transaction.
//
// Nothing in this package knows about HTTP or Kafka: intake layers decode
// envelopes into Events and call Apply.
package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Event is one decoded workspace event.
type Event struct {
	// Type is the event type, such as "resource.created".
	Type string
	// ID is an optional idempotency key: an event whose id was already
	// applied is acknowledged and changes nothing.
	ID string
	// Data is the event's payload, decoded by the handler for Type.
	Data json.RawMessage
	// Caller is who sent the event, when a named token did (the API's
	// authentication sets it); approvals and versions are stamped with it.
	Caller *model.Caller
}

// Loader restores workspaces from durable storage.
type Loader interface {
	// Workspaces lists the ids of every stored workspace.
	Workspaces(ctx context.Context) ([]string, error)
	// LoadWorkspace fills the empty st with the stored entities of ws and
	// returns the number of rows per table.
	LoadWorkspace(ctx context.Context, ws string, st *store.Store) (map[string]int, error)
	// Holds reports, cheaply, whether anything of ws is stored (a row in
	// one of store.Anchors): a workspace is loaded only if so.
	Holds(ctx context.Context, ws string) (bool, error)
}

// Config wires an Engine.
type Config struct {
	// Persister makes every event durable before it becomes visible; nil keeps
	// state in memory only.
	Persister store.Persister
	// Loader restores stored workspaces on Restore; nil restores nothing.
	Loader Loader
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Logger receives operational logs; slog.Default() when nil.
	Logger *slog.Logger
	// Sealer encrypts sensitive variable values; without one they are
	// refused.
	Sealer Sealer
	// AfterFunc arms the scheduler's timers: it calls f in its own goroutine
	// once d has passed and returns a handle whose Stop cancels the call.
	// time.AfterFunc when nil. Tests pass a fake that fires on demand,
	// together with a fake Clock, so that no test sleeps.
	AfterFunc func(d time.Duration, f func()) interface{ Stop() bool }
	// HTTPClient is used by verification metric providers that speak HTTP;
	// http.DefaultClient when nil.
	HTTPClient *http.Client
	// OutcomeUnknown reports whether a failed commit may nonetheless have
	// been applied by the database (the connection dropped after COMMIT
	// was sent, a timeout mid-commit, an fsync error after the write).
	// After such a failure the workspace is loaded again from the database
	// before it takes another event, so that memory always equals the
	// database. Nil treats every failure except a refused write (a
	// constraint violation) as unknown.
	OutcomeUnknown func(error) bool
	// EventIDRetention is how long processed event ids are remembered for
	// idempotency; DefaultEventIDRetention when zero.
	EventIDRetention time.Duration
	// Agents are the job agent types: a job agent's type must be one of
	// them and its config must validate. Nil accepts any type unchecked
	// (tests of decisions alone).
	Agents agents.Registry
	// OnJobs, when set, is told after every commit which jobs it created
	// or changed, as stored: the dispatcher's feed. It must not block.
	OnJobs func(workspaceID string, jobs []*model.Job)
	// OnCommit, when set, is told after every commit that a workspace
	// changed, once its readers see the change: the console's live
	// refresh. It must not block.
	OnCommit func(workspaceID string)
	// VerificationAllowPrivate lets verification metrics connect to
	// loopback, private, link-local and other non-public addresses; off,
	// such a measurement fails naming the address.
	VerificationAllowPrivate bool
	// Fence, when set, says whether this process owns a workspace and
	// under which lease: a unit of work in a workspace it does not own
	// fails with ErrNotOwner, and every commit carries the lease for the
	// database to check (store.ErrFenced when it no longer holds). Nil
	// owns every workspace (one process per database). It must be fast
	// and must not block: it is asked before every unit of work.
	Fence func(workspaceID string) (store.Lease, bool)
	// OnLoad, when set, is told after a stored workspace was loaded into
	// memory (at start, on first touch, after it was taken over), under
	// the workspace's writer: the dispatcher's cue to resume its jobs. It
	// must not block.
	OnLoad func(workspaceID string)
	// OnUnload, when set, is told after a workspace left memory (unloaded
	// idle or lost, deleted, or never created): the cue to give up its
	// lease. It must not block for long.
	OnUnload func(workspaceID string)
}

// DefaultEventIDRetention is how long an event id is remembered unless
// Config.EventIDRetention says otherwise: a redelivery later than that is
// applied again.
const DefaultEventIDRetention = 7 * 24 * time.Hour

// Engine holds every workspace this process serves. It is safe for
// concurrent use: events of one workspace are applied one at a time, events of
// different workspaces in parallel.
type Engine struct {
	cfg        Config
	mu         sync.RWMutex
	workspaces map[string]*Workspace
	stopped    bool
	// bg is cancelled by Close; background work (verifications) runs
	// under it and loops counts it.
	bg     context.Context
	cancel context.CancelFunc
	loops  sync.WaitGroup
	intake intake
	// snapshots remembers the entity snapshots of entity values jobs
	// were made with (see snapshots.go).
	snapshots *snapshotCache
}

// New returns an engine with no workspaces loaded.
func New(cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) interface{ Stop() bool } { return time.AfterFunc(d, f) }
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.OutcomeUnknown == nil {
		cfg.OutcomeUnknown = func(err error) bool { return model.ErrorCode(err) != model.ECONFLICT }
	}
	if cfg.EventIDRetention <= 0 {
		cfg.EventIDRetention = DefaultEventIDRetention
	}
	bg, cancel := context.WithCancel(context.Background())
	return &Engine{cfg: cfg, workspaces: map[string]*Workspace{}, bg: bg, cancel: cancel, snapshots: newSnapshotCache()}
}

// Apply applies events to workspace wsID in order, each as its own unit of
// work: validated, applied and reconciled all or nothing. The events of one
// call share one database transaction (group commit: one durable write for
// the batch instead of one per event), committed before Apply returns. It
// stops at the first event that fails and returns an *EventError with its
// position; the events before it are committed. Every payload is checked
// for poison (wire.Check) before its handler runs. If the commit itself
// fails, none of the events is applied and the error says so. While
// refused (Refuse, Drain) it applies nothing and returns the refusal.
func (e *Engine) Apply(ctx context.Context, wsID string, events []Event) error {
	_, err := e.ApplyBatch(ctx, wsID, events)
	return err
}

// Outcome is what applying a batch did besides its effects.
type Outcome struct {
	// Applied is the number of events applied (and committed).
	Applied int
	// Skipped are resources of provider sets left out because another
	// provider owns their identifiers.
	Skipped []SkippedResource
}

// ApplyBatch is Apply, also answering what the batch did.
func (e *Engine) ApplyBatch(ctx context.Context, wsID string, events []Event) (Outcome, error) {
	if err := checkWorkspaceID(wsID); err != nil {
		return Outcome{}, err
	}
	if err := e.admit(); err != nil {
		return Outcome{}, err
	}
	defer e.intake.inHand.Done()
	var out Outcome
	var failed error
	err := e.inWorkspace(ctx, wsID, "touched", func(ws *Workspace) error {
		var err error
		out, failed, err = e.applyEvents(ctx, ws, events)
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, failed
}

// applyEvents is ApplyBatch's unit of work, under ws's writer: the outcome,
// the first event's failure, and the commit's failure.
func (e *Engine) applyEvents(ctx context.Context, ws *Workspace, events []Event) (Outcome, error, error) {
	tx := e.begin(ctx, ws, ws.Store())
	defer tx.Abort()
	var failed error
	var after effects
	var out Outcome
	for i, ev := range events {
		h, err := handlerFor(ev)
		if err != nil {
			failed = eventError(i, out.Applied, len(events), ev, err)
			break
		}
		sp := tx.Savepoint()
		eff, err := e.applyIn(tx, ws, ev, func(u *unit) error { return h(u, ev.Data) })
		if err != nil {
			tx.RollbackTo(sp)
			failed = eventError(i, out.Applied, len(events), ev, err)
			break
		}
		for _, s := range eff.skipped {
			s.Index = i
			out.Skipped = append(out.Skipped, s)
		}
		after.merge(eff)
		out.Applied++
	}
	if out.Applied > 0 {
		if err := e.pruneEventIDs(tx, ws); err != nil {
			return Outcome{}, nil, err
		}
		if err := e.commit(ws, tx); err != nil {
			if out.Applied > 1 || failed != nil {
				err = fmt.Errorf("none of the %d events was applied: %w", out.Applied, err)
			}
			return Outcome{}, nil, err
		}
		e.afterCommit(ws, after)
	}
	return out, failed, nil
}

func eventError(i, applied, n int, ev Event, err error) error {
	return &EventError{Index: i, Applied: applied, Type: ev.Type, Err: err, Batch: n > 1}
}

// work runs fn as one unit of work in its own transaction, for the engine's
// internal events (scheduled ticks, measurements, agent results).
// A workspace unloaded meanwhile takes no more of them: its background
// work ended with it.
func (e *Engine) work(ctx context.Context, ws *Workspace, ev Event, fn func(u *unit) error) (err error) {
	ctx, span := startSpan(ctx, "engine.Work "+ev.Type, workspaceAttr(ws.ID))
	defer func() { endSpan(span, err) }()
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.gone.Load() {
		return nil
	}
	if err := e.ready(ctx, ws); err != nil {
		return err
	}
	return e.unitIn(ctx, ws, ev, fn)
}

// unitIn applies fn as one unit of work in its own transaction, under ws's
// writer, the workspace ready.
func (e *Engine) unitIn(ctx context.Context, ws *Workspace, ev Event, fn func(u *unit) error) error {
	tx := e.begin(ctx, ws, ws.Store())
	defer tx.Abort()
	eff, err := e.applyIn(tx, ws, ev, fn)
	if err != nil {
		return err
	}
	if err := e.commit(ws, tx); err != nil {
		return err
	}
	e.afterCommit(ws, eff)
	return nil
}

// effects are what a committed unit of work asks for afterwards.
type effects struct {
	// wakeAt is when its decisions want to be looked at again.
	wakeAt time.Time
	// verifications are the verifications it started.
	verifications []string
	// skipped are resources of provider sets it left out.
	skipped []SkippedResource
	// decisions are the target decisions it took, logged after the commit.
	decisions []*decision
}

func (a *effects) merge(b effects) {
	a.wakeAt = earlier(a.wakeAt, b.wakeAt)
	a.verifications = append(a.verifications, b.verifications...)
	a.decisions = append(a.decisions, b.decisions...)
}

// afterCommit arms the scheduler and starts the measurement of new
// verifications: side effects only ever follow a commit.
func (e *Engine) afterCommit(ws *Workspace, eff effects) {
	e.logDecisions(ws, eff.decisions)
	e.scheduled(ws, eff.wakeAt)
	for _, id := range eff.verifications {
		e.verify(ws, id)
	}
}

// applyIn applies one event inside tx: its handler, the reconciliation it
// triggers and its id. It returns when the event's decisions want to be
// looked at again.
func (e *Engine) applyIn(tx *store.Tx, ws *Workspace, ev Event, fn func(u *unit) error) (_ effects, err error) {
	end := traceTx(tx, "engine.Event "+ev.Type, workspaceAttr(ws.ID), attribute.String("event.id", ev.ID))
	defer func() { end(err) }()
	if done, err := alreadyApplied(tx, ev); done || err != nil {
		return effects{}, err
	}
	if !store.Workspaces.Has(tx, ws.ID) {
		if err := store.Workspaces.Upsert(tx, ws.ID, &model.Workspace{ID: ws.ID, CreatedAt: tx.Now()}); err != nil {
			return effects{}, err
		}
	}
	u := &unit{tx: tx, engine: e, ws: ws, restoring: ev.Type == eventRestore, caller: ev.Caller}
	if err := fn(u); err != nil {
		return effects{}, err
	}
	if err := u.reconcile(); err != nil {
		return effects{}, err
	}
	// A deletion leaves nothing of the workspace, its event ids included.
	if !u.deleted {
		if err := recordApplied(tx, ev); err != nil {
			return effects{}, err
		}
	}
	return effects{wakeAt: u.wakeAt, verifications: u.verifications, skipped: u.skipped, decisions: u.decisions}, nil
}

// commit makes tx durable and visible. A database failure is reported as
// unavailable. When the database may have applied the write all the same,
// the workspace is marked stale: it is loaded again before its next event,
// so that memory never drifts from the database (SPEC's promise that
// nothing is applied twice rests on the event ids the reload brings back).
func (e *Engine) commit(ws *Workspace, tx *store.Tx) error {
	err := tx.Commit()
	if err == nil {
		e.jobsCommitted(ws, tx.Committed())
		if e.cfg.OnCommit != nil {
			e.cfg.OnCommit(ws.ID)
		}
		return nil
	}
	e.fenced(ws, err)
	// Without a loader memory is all there is: nothing to load again.
	if e.cfg.Loader != nil && e.cfg.OutcomeUnknown(err) && !ws.stale.Swap(true) {
		ws.loadReason = "a commit's outcome was unknown"
		e.cfg.Logger.Warn("a commit failed and may have been applied; the workspace is loaded again from the database before its next event",
			"workspace", ws.ID, "err", err)
	}
	if model.ErrorCode(err) == model.EINTERNAL {
		return &model.Error{Code: model.EUNAVAILABLE, Message: err.Error()}
	}
	return err
}

// jobsCommitted tells OnJobs about the jobs a commit wrote.
func (e *Engine) jobsCommitted(ws *Workspace, changes []store.Change) {
	if e.cfg.OnJobs == nil {
		return
	}
	var jobs []*model.Job
	for _, c := range changes {
		if c.Table == store.Schema(store.Jobs) && c.After != nil {
			jobs = append(jobs, c.After.(*model.Job))
		}
	}
	if len(jobs) > 0 {
		e.cfg.OnJobs(ws.ID, jobs)
	}
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// unit is the work of one event: its transaction and what it touched.
type unit struct {
	tx     *store.Tx
	engine *Engine
	ws     *Workspace
	// dirty are the targets to re-evaluate before commit.
	dirty map[string]*model.ReleaseTarget
	// redeploy are the targets that get a job for their desired release
	// without the eligibility checks.
	redeploy map[string]bool
	// wakeAt is the earliest time a decision asked to be looked at again.
	wakeAt time.Time
	// verifications are the verifications started, measured after commit.
	verifications []string
	// skipped are the resources of provider sets that were not applied.
	skipped []SkippedResource
	// restoring is set for the evaluation of a workspace just loaded.
	restoring bool
	// decisions are the target decisions taken, logged after commit.
	decisions []*decision
	// caller is who sent the event; nil when no named token did.
	caller *model.Caller
	// deleted is set when the event deleted the workspace.
	deleted bool
}
