package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A process holds in memory the workspaces it owns and has touched. With
// several processes on one database (Config.Fence), a workspace is written
// only by the process holding its lease, and memory is trusted only for
// the lease it was loaded under: a lease taken anew means the workspace may
// have been written elsewhere meanwhile, so it is loaded again. Workspaces
// are loaded when first touched, and unloaded when idle, deleted, or lost.

// ErrNotOwner is in the chain of a unit of work refused because this
// process does not own its workspace (Config.Fence says so): another
// process does, or nobody has taken it. It is EUNAVAILABLE.
var ErrNotOwner = &model.Error{Code: model.EUNAVAILABLE,
	Message: "this process does not own the workspace; its owner serves it"}

func notOwner(id string) error { return fmt.Errorf("workspace %s: %w", id, ErrNotOwner) }

func notFound(id string) error { return model.Errorf(model.ENOTFOUND, "workspace %q not found", id) }

// inWorkspace runs fn under workspace id's writer once the workspace is
// ready for a unit of work (see ready). A workspace unloaded while the call
// waited for its writer is taken up again as loaded anew. reason says in
// the log why a workspace not in memory is loaded.
func (e *Engine) inWorkspace(ctx context.Context, id, reason string, fn func(ws *Workspace) error) error {
	for {
		ws := e.acquire(id, reason)
		ws.mu.Lock()
		if ws.gone.Load() {
			ws.mu.Unlock()
			e.release(ws)
			continue
		}
		err := e.ready(ctx, ws)
		if err == nil {
			err = fn(ws)
		}
		ws.mu.Unlock()
		e.release(ws)
		return err
	}
}

// ready makes ws fit for a unit of work; it runs under ws.mu. It refuses a
// workspace this process does not own, and loads the workspace from the
// database when memory may be behind it: never loaded, a commit of unknown
// outcome, or a lease taken anew since it was loaded.
func (e *Engine) ready(ctx context.Context, ws *Workspace) error {
	if e.cfg.Fence != nil {
		l, ok := e.cfg.Fence(ws.ID)
		if !ok {
			return notOwner(ws.ID)
		}
		if ws.lease == nil || *ws.lease != l {
			if ws.lease != nil {
				ws.loadReason = "taken again"
			}
			ws.lease = &l
			ws.stale.Store(true)
		}
	}
	return e.freshen(ctx, ws)
}

// begin opens a write transaction on st for ws, committing under the lease
// its memory was loaded under.
func (e *Engine) begin(ctx context.Context, ws *Workspace, st *store.Store) *store.Tx {
	tx := st.Begin(ctx)
	if ws.lease != nil {
		tx.SetLease(*ws.lease)
	}
	return tx
}

// Load returns workspace id as readers see it, loading it from the
// database first when it is not in memory (it was unloaded, or another
// process held it until now). It returns ENOTFOUND when no event ever
// committed in it and, like Apply, refuses a workspace this process does not
// own (ErrNotOwner).
func (e *Engine) Load(ctx context.Context, id string) (*Workspace, error) {
	if ws, ok := e.Workspace(id); ok && !ws.stale.Load() {
		ws.used.Store(e.cfg.Clock().UnixNano())
		return ws, nil
	}
	if e.cfg.Loader == nil || checkWorkspaceID(id) != nil {
		return nil, notFound(id)
	}
	var out *Workspace
	err := e.inWorkspace(ctx, id, "touched", func(ws *Workspace) error {
		if !ws.exists() {
			return notFound(id)
		}
		out = ws
		return nil
	})
	return out, err
}

// Unload drops workspace id from memory: its timers stop, its measurements
// end, and Config.OnUnload is told. A unit of work in hand finishes first;
// units waiting for it start over and load the workspace again (if this
// process still owns it). Unloading a workspace not in memory does nothing.
func (e *Engine) Unload(id string) {
	e.mu.RLock()
	ws := e.workspaces[id]
	e.mu.RUnlock()
	if ws != nil {
		e.unload(ws)
	}
}

// unload is Unload of one in-memory workspace, unless another has taken
// its place meanwhile.
func (e *Engine) unload(ws *Workspace) {
	e.mu.Lock()
	mine := e.workspaces[ws.ID] == ws
	if mine {
		delete(e.workspaces, ws.ID)
		ws.gone.Store(true)
	}
	e.mu.Unlock()
	if !mine {
		return
	}
	// Taking the writer waits for the unit of work in hand.
	ws.mu.Lock()
	ws.mu.Unlock() //nolint:staticcheck // an empty critical section on purpose
	e.retire(ws)
}

// unloadLater unloads ws once the unit of work holding its writer ends.
func (e *Engine) unloadLater(ws *Workspace) {
	e.loops.Go(func() { e.unload(ws) })
}

// retire ends what a workspace dropped from memory still has going.
func (e *Engine) retire(ws *Workspace) {
	ws.gone.Store(true)
	ws.cancel()
	ws.wakeup.mu.Lock()
	if ws.wakeup.timer != nil {
		ws.wakeup.timer.Stop()
	}
	ws.wakeup.at = time.Time{}
	ws.wakeup.mu.Unlock()
	if e.cfg.OnUnload != nil {
		e.cfg.OnUnload(ws.ID)
	}
}

// UnloadIdle unloads every workspace no Apply or read has touched since
// cutoff and that holds nothing: no timer armed, no verification being
// measured, no job under way (its dispatcher follows it through the
// workspace). It returns the ids unloaded.
func (e *Engine) UnloadIdle(cutoff time.Time) []string {
	e.mu.RLock()
	var idle []*Workspace
	for _, ws := range e.workspaces {
		if ws.used.Load() < cutoff.UnixNano() && ws.users == 0 {
			idle = append(idle, ws)
		}
	}
	e.mu.RUnlock()
	var out []string
	for _, ws := range idle {
		if ws.holdsNothing() {
			e.unload(ws)
			out = append(out, ws.ID)
		}
	}
	return out
}

// holdsNothing reports whether nothing of the workspace would be lost by
// unloading it.
func (ws *Workspace) holdsNothing() bool {
	ws.wakeup.mu.Lock()
	armed := !ws.wakeup.at.IsZero()
	ws.wakeup.mu.Unlock()
	if armed {
		return false
	}
	measuring := false
	ws.measuring.Range(func(any, any) bool { measuring = true; return false })
	if measuring {
		return false
	}
	for _, j := range store.Jobs.Items(ws.Store().Snapshot()) {
		if model.IsProcessingJobStatus(j.Status) {
			return false
		}
	}
	return true
}

// Loaded returns the number of workspaces in memory.
func (e *Engine) Loaded() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.workspaces)
}

// fenced handles a commit refused because the workspace's lease is no
// longer this process's: memory may be behind what the new owner writes,
// so the workspace is unloaded once the unit ends.
func (e *Engine) fenced(ws *Workspace, err error) {
	if !errors.Is(err, store.ErrFenced) {
		return
	}
	e.cfg.Logger.Warn("lost the workspace's lease: a commit was refused, the workspace is unloaded",
		"workspace", ws.ID, "err", err)
	e.unloadLater(ws)
}
