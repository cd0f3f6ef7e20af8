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
	"sort"
	"sync"
	"time"

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
}

// Loader restores workspaces from durable storage.
type Loader interface {
	// Workspaces lists the ids of every stored workspace.
	Workspaces(ctx context.Context) ([]string, error)
	// LoadWorkspace fills the empty st with the stored entities of ws and
	// returns the number of rows per table.
	LoadWorkspace(ctx context.Context, ws string, st *store.Store) (map[string]int, error)
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
}

// Sealer encrypts a clear sensitive value into its stored form.
type Sealer interface {
	Seal(clear string) (*model.SensitiveValue, error)
}

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
}

// Workspace is one workspace's in-memory state.
type Workspace struct {
	// ID is the workspace id.
	ID string
	// Store holds the workspace's entities; readers use Store.Snapshot.
	Store  *store.Store
	wakeup wakeup
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
	bg, cancel := context.WithCancel(context.Background())
	return &Engine{cfg: cfg, workspaces: map[string]*Workspace{}, bg: bg, cancel: cancel}
}

// Workspace returns a workspace that exists (has applied at least one event).
func (e *Engine) Workspace(id string) (*Workspace, bool) {
	e.mu.RLock()
	ws, ok := e.workspaces[id]
	e.mu.RUnlock()
	if !ok || !store.Workspaces.Has(ws.Store.Snapshot(), id) {
		return nil, false
	}
	return ws, true
}

// Workspaces returns the ids of every existing workspace, sorted.
func (e *Engine) Workspaces() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	ids := make([]string, 0, len(e.workspaces))
	for id, ws := range e.workspaces {
		if store.Workspaces.Has(ws.Store.Snapshot(), id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (e *Engine) newStore(id string) (*store.Store, error) {
	opts := []store.Option{store.WithClock(e.cfg.Clock)}
	if e.cfg.Persister != nil {
		opts = append(opts, store.WithPersister(e.cfg.Persister))
	}
	return store.New(id, opts...)
}

// workspaceFor returns the workspace, creating an empty one in memory; it
// only becomes visible once an event commits in it.
func (e *Engine) workspaceFor(id string) (*Workspace, error) {
	e.mu.RLock()
	ws, ok := e.workspaces[id]
	e.mu.RUnlock()
	if ok {
		return ws, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if ws, ok := e.workspaces[id]; ok {
		return ws, nil
	}
	st, err := e.newStore(id)
	if err != nil {
		return nil, err
	}
	ws = &Workspace{ID: id, Store: st}
	e.workspaces[id] = ws
	return ws, nil
}

// Restore loads every stored workspace, rebuilding derived state (release
// targets) from the stored entities. It logs one line per workspace.
func (e *Engine) Restore(ctx context.Context) error {
	if e.cfg.Loader == nil {
		return nil
	}
	ids, err := e.cfg.Loader.Workspaces(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, id := range ids {
		start := time.Now()
		st, err := e.newStore(id)
		if err != nil {
			return err
		}
		counts, err := e.cfg.Loader.LoadWorkspace(ctx, id, st)
		if err != nil {
			return fmt.Errorf("restore workspace %s: %w", id, err)
		}
		ws := &Workspace{ID: id, Store: st}
		// Derived state is rebuilt and every target evaluated once, so that
		// time-based decisions due while the process was down are taken now.
		err = e.work(ctx, ws, Event{Type: "restore"}, func(u *unit) error {
			if err := u.rebuildDerived(); err != nil {
				return err
			}
			u.markAll()
			return nil
		})
		if err != nil {
			return fmt.Errorf("restore workspace %s: %w", id, err)
		}
		targets := store.ReleaseTargets.Count(st.Snapshot())
		e.mu.Lock()
		e.workspaces[id] = ws
		e.mu.Unlock()
		e.resumeVerifications(ws)
		attrs := []any{"workspace", id, "releaseTargets", targets, "duration", time.Since(start).Round(time.Millisecond)}
		for _, t := range store.Tables {
			if n := counts[t.TableName()]; n > 0 {
				attrs = append(attrs, t.TableName(), n)
			}
		}
		e.cfg.Logger.Info("workspace restored", attrs...)
	}
	return nil
}

// Apply applies events to workspace wsID in order, each as its own unit of
// work: validated, applied and reconciled all or nothing. The events of one
// call share one database transaction (group commit: one durable write for
// the batch instead of one per event), committed before Apply returns. It
// stops at the first event that fails and returns an *EventError with its
// position; the events before it are committed. Every payload is checked
// for poison (wire.Check) before its handler runs. If the commit itself
// fails, none of the events is applied and the error says so.
func (e *Engine) Apply(ctx context.Context, wsID string, events []Event) error {
	if err := checkWorkspaceID(wsID); err != nil {
		return err
	}
	ws, err := e.workspaceFor(wsID)
	if err != nil {
		return err
	}
	tx := ws.Store.Begin(ctx)
	defer tx.Abort()
	var failed error
	var after effects
	applied := 0
	for i, ev := range events {
		h, err := handlerFor(ev)
		if err != nil {
			failed = eventError(i, applied, len(events), ev, err)
			break
		}
		sp := tx.Savepoint()
		eff, err := e.applyIn(tx, ws, ev, func(u *unit) error { return h(u, ev.Data) })
		if err != nil {
			tx.RollbackTo(sp)
			failed = eventError(i, applied, len(events), ev, err)
			break
		}
		after.merge(eff)
		applied++
	}
	if applied > 0 {
		if err := commit(tx); err != nil {
			if applied > 1 || failed != nil {
				err = fmt.Errorf("none of the %d events was applied: %w", applied, err)
			}
			return err
		}
		e.afterCommit(ws, after)
	}
	return failed
}

func eventError(i, applied, n int, ev Event, err error) error {
	return &EventError{Index: i, Applied: applied, Type: ev.Type, Err: err, Batch: n > 1}
}

// work runs fn as one unit of work in its own transaction, for the engine's
// internal events (scheduled ticks, restores).
func (e *Engine) work(ctx context.Context, ws *Workspace, ev Event, fn func(u *unit) error) error {
	tx := ws.Store.Begin(ctx)
	defer tx.Abort()
	eff, err := e.applyIn(tx, ws, ev, fn)
	if err != nil {
		return err
	}
	if err := commit(tx); err != nil {
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
}

func (a *effects) merge(b effects) {
	a.wakeAt = earlier(a.wakeAt, b.wakeAt)
	a.verifications = append(a.verifications, b.verifications...)
}

// afterCommit arms the scheduler and starts the measurement of new
// verifications: side effects only ever follow a commit.
func (e *Engine) afterCommit(ws *Workspace, eff effects) {
	e.scheduled(ws, eff.wakeAt)
	for _, id := range eff.verifications {
		e.verify(ws, id)
	}
}

// applyIn applies one event inside tx: its handler, the reconciliation it
// triggers and its id. It returns when the event's decisions want to be
// looked at again.
func (e *Engine) applyIn(tx *store.Tx, ws *Workspace, ev Event, fn func(u *unit) error) (effects, error) {
	if ev.ID != "" && store.ProcessedEvents.Has(tx, ev.ID) {
		return effects{}, nil
	}
	if !store.Workspaces.Has(tx, ws.ID) {
		if err := store.Workspaces.Upsert(tx, ws.ID, &model.Workspace{ID: ws.ID, CreatedAt: tx.Now()}); err != nil {
			return effects{}, err
		}
	}
	u := &unit{tx: tx, engine: e}
	if err := fn(u); err != nil {
		return effects{}, err
	}
	if err := u.reconcile(); err != nil {
		return effects{}, err
	}
	if ev.ID != "" {
		rec := &model.ProcessedEvent{ID: ev.ID, EventType: ev.Type, ProcessedAt: tx.Now()}
		if err := store.ProcessedEvents.Upsert(tx, ev.ID, rec); err != nil {
			return effects{}, err
		}
	}
	return effects{wakeAt: u.wakeAt, verifications: u.verifications}, nil
}

// commit makes tx durable and visible. A database failure is reported as
// unavailable: the events were not applied and may be sent again.
func commit(tx *store.Tx) error {
	err := tx.Commit()
	if err != nil && model.ErrorCode(err) == model.EINTERNAL {
		return &model.Error{Code: model.EUNAVAILABLE, Message: err.Error()}
	}
	return err
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
	// dirty are the targets to re-evaluate before commit.
	dirty map[string]*model.ReleaseTarget
	// redeploy are the targets that get a job for their desired release
	// without the eligibility checks.
	redeploy map[string]bool
	// wakeAt is the earliest time a decision asked to be looked at again.
	wakeAt time.Time
	// verifications are the verifications started, measured after commit.
	verifications []string
}
