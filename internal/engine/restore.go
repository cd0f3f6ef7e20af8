package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// eventRestore is the type of the unit of work that evaluates a workspace
// just loaded.
const eventRestore = "restore"

// Restore loads every stored workspace this process owns (every one
// without Config.Fence), rebuilding derived state (release targets) from the
// stored entities. It logs one line per workspace. Events applied meanwhile
// could land in a workspace not restored yet; a server that takes requests
// during Restore refuses them first (Refuse with ErrRestoring) and accepts
// them once it returns. Workspaces not restored are loaded when first
// touched.
func (e *Engine) Restore(ctx context.Context) (err error) {
	if e.cfg.Loader == nil {
		return nil
	}
	ctx, span := startSpan(ctx, "engine.Restore")
	defer func() { endSpan(span, err) }()
	ids, err := e.cfg.Loader.Workspaces(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, id := range ids {
		if e.cfg.Fence != nil {
			if _, ok := e.cfg.Fence(id); !ok {
				continue
			}
		}
		if err := e.inWorkspace(ctx, id, "restored", func(*Workspace) error { return nil }); err != nil {
			return fmt.Errorf("restore workspace %s: %w", id, err)
		}
	}
	return nil
}

// load reads a workspace from the database into a new store, rebuilds its
// derived state and evaluates every target once, so that time-based
// decisions due while it was not loaded are taken now. It returns the
// store, the rows read per table, and what the evaluation asks for after
// its commit, which the caller carries out once the store is in place. A
// workspace that is not stored comes back empty, and nothing is written.
func (e *Engine) load(ctx context.Context, ws *Workspace) (_ *store.Store, _ map[string]int, _ effects, err error) {
	ctx, span := startSpan(ctx, "engine.LoadWorkspace", workspaceAttr(ws.ID))
	defer func() { endSpan(span, err) }()
	st := e.newStore(ws.ID)
	held, err := e.cfg.Loader.Holds(ctx, ws.ID)
	if err != nil || !held {
		return st, map[string]int{}, effects{}, err
	}
	counts, err := e.cfg.Loader.LoadWorkspace(ctx, ws.ID, st)
	if err != nil {
		return nil, nil, effects{}, err
	}
	if !store.Workspaces.Has(st.Snapshot(), ws.ID) {
		return st, counts, effects{}, nil
	}
	// The store is not visible to anyone yet, so this unit needs no lock.
	loading := &Workspace{ID: ws.ID, lastSets: map[string]map[string]*model.Resource{}}
	loading.st.Store(st)
	tx := e.begin(ctx, ws, st)
	defer tx.Abort()
	eff, err := e.applyIn(tx, loading, Event{Type: eventRestore}, func(u *unit) error {
		if err := u.rebuildDerived(); err != nil {
			return err
		}
		u.markAll()
		return nil
	})
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return nil, nil, effects{}, err
	}
	return st, counts, eff, nil
}

// freshen loads a stale workspace from the database (see ready), replacing
// its store; it runs under ws.mu, before a unit of work. While the database
// cannot be read the workspace takes no events: they are refused as
// unavailable, and the load is tried again with the next one.
func (e *Engine) freshen(ctx context.Context, ws *Workspace) error {
	if !ws.stale.Load() {
		return nil
	}
	if e.cfg.Loader == nil {
		ws.stale.Store(false) // nothing to load from: memory is all there is
		return nil
	}
	start := time.Now()
	st, counts, eff, err := e.load(ctx, ws)
	if err != nil {
		e.fenced(ws, err)
		return fmt.Errorf("%w: %w", model.Errorf(model.EUNAVAILABLE,
			"workspace %s is being loaded (%s), and the database cannot be read", ws.ID, ws.loadReason), err)
	}
	ws.st.Store(st)
	ws.lastSets = map[string]map[string]*model.Resource{}
	ws.stale.Store(false)
	reason := ws.loadReason
	if !ws.exists() {
		return nil
	}
	e.afterCommit(ws, eff)
	e.resumeVerifications(ws)
	// The row counts are a group of their own: a table is named
	// "workspace", which would repeat the workspace key.
	var rows []any
	for _, t := range store.Tables {
		if n := counts[t.TableName()]; n > 0 {
			rows = append(rows, t.TableName(), n)
		}
	}
	e.cfg.Logger.Info("workspace loaded", "workspace", ws.ID, "why", reason,
		"releaseTargets", store.ReleaseTargets.Count(st.Snapshot()), "durationMs", time.Since(start).Milliseconds(),
		slog.Group("rows", rows...))
	if e.cfg.OnLoad != nil {
		e.cfg.OnLoad(ws.ID)
	}
	return nil
}
