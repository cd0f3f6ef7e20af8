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

// Restore loads every stored workspace, rebuilding derived state (release
// targets) from the stored entities. It logs one line per workspace. Events
// applied meanwhile could land in a workspace not restored yet; a server
// that takes requests during Restore refuses them first (Refuse with
// ErrRestoring) and accepts them once it returns.
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
		start := time.Now()
		st, counts, eff, err := e.load(ctx, id)
		if err != nil {
			return fmt.Errorf("restore workspace %s: %w", id, err)
		}
		ws := newWorkspace(id, st)
		e.mu.Lock()
		e.workspaces[id] = ws
		e.mu.Unlock()
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
		e.cfg.Logger.Info("workspace restored", "workspace", id, "releaseTargets", store.ReleaseTargets.Count(st.Snapshot()),
			"durationMs", time.Since(start).Milliseconds(), slog.Group("rows", rows...))
	}
	return nil
}

// load reads a workspace from the database into a new store, rebuilds its
// derived state and evaluates every target once, so that time-based
// decisions due while it was not loaded are taken now. It returns the
// store, the rows read per table, and what the evaluation asks for after
// its commit, which the caller carries out once the store is in place.
func (e *Engine) load(ctx context.Context, id string) (_ *store.Store, _ map[string]int, _ effects, err error) {
	ctx, span := startSpan(ctx, "engine.LoadWorkspace", workspaceAttr(id))
	defer func() { endSpan(span, err) }()
	st := e.newStore(id)
	counts, err := e.cfg.Loader.LoadWorkspace(ctx, id, st)
	if err != nil {
		return nil, nil, effects{}, err
	}
	// The store is not visible to anyone yet, so this unit needs no lock.
	loading := newWorkspace(id, st)
	tx := st.Begin(ctx)
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

// freshen loads a stale workspace again from the database (see commit),
// replacing its store; it runs under ws.mu, before a unit of work. While
// the database cannot be read the workspace takes no events: they are
// refused as unavailable, and the load is tried again with the next one.
func (e *Engine) freshen(ctx context.Context, ws *Workspace) error {
	if !ws.stale.Load() {
		return nil
	}
	if e.cfg.Loader == nil {
		ws.stale.Store(false) // nothing to load from: memory is all there is
		return nil
	}
	start := time.Now()
	st, _, eff, err := e.load(ctx, ws.ID)
	if err != nil {
		return fmt.Errorf("%w: %w", model.Errorf(model.EUNAVAILABLE,
			"workspace %s is being loaded again after a commit whose outcome is unknown, and the database cannot be read", ws.ID), err)
	}
	ws.st.Store(st)
	ws.lastSets = map[string]map[string]*model.Resource{}
	ws.stale.Store(false)
	e.afterCommit(ws, eff)
	e.resumeVerifications(ws)
	e.cfg.Logger.Info("workspace loaded again from the database", "workspace", ws.ID,
		"durationMs", time.Since(start).Milliseconds())
	return nil
}
