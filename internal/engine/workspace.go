package engine

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Workspace is one workspace's in-memory state.
type Workspace struct {
	// ID is the workspace id.
	ID string
	// st is the workspace's store; it is replaced whole when the workspace
	// is loaded again (see freshen).
	st atomic.Pointer[store.Store]
	// mu serialises the units of work of the workspace across store
	// replacements: one writer at a time.
	mu sync.Mutex
	// stale is set when a commit's outcome is unknown.
	stale  atomic.Bool
	wakeup wakeup
	// measuring holds the ids of verifications being measured, so that a
	// reload does not start a second measurement loop for one.
	measuring sync.Map
	// lastSets remembers each resource provider's last set (see
	// setProviderResources); only units of work touch it.
	lastSets map[string]map[string]*model.Resource
	// pruned is when expired event ids were last forgotten (under mu).
	pruned time.Time
	// users counts the Apply calls holding the workspace (guarded by the
	// engine's mu): a workspace in which nothing ever committed is dropped
	// when the last one ends, so that requests naming new workspaces leave
	// nothing behind.
	users int
	// gone is set once the workspace is unloaded: a unit of work that
	// waited for mu meanwhile starts over with the workspace loaded anew.
	gone atomic.Bool
	// lease is the lease the memory was loaded under (under mu); nil
	// without Config.Fence.
	lease *store.Lease
	// loadReason says, for the log, why the workspace is loaded next
	// (under mu, or before the workspace is shared).
	loadReason string
	// used is when an Apply or a read last touched it, in Unix
	// nanoseconds of the engine's clock.
	used atomic.Int64
	// ctx ends when the workspace is unloaded, and its background work
	// (measurements) with it.
	ctx    context.Context
	cancel context.CancelFunc
}

// newWorkspace returns the in-memory workspace id over st; its background
// work runs under the engine's.
func (e *Engine) newWorkspace(id string, st *store.Store) *Workspace {
	ws := &Workspace{ID: id, lastSets: map[string]map[string]*model.Resource{}}
	ws.ctx, ws.cancel = context.WithCancel(e.bg)
	ws.st.Store(st)
	return ws
}

// Store returns the workspace's entities; readers use Store().Snapshot()
// or Store().Read().
func (ws *Workspace) Store() *store.Store { return ws.st.Load() }

// exists reports whether an event ever committed in the workspace.
func (ws *Workspace) exists() bool { return store.Workspaces.Has(ws.Store().Snapshot(), ws.ID) }

// Workspace returns a workspace that exists (has applied at least one event).
func (e *Engine) Workspace(id string) (*Workspace, bool) {
	e.mu.RLock()
	ws, ok := e.workspaces[id]
	e.mu.RUnlock()
	if !ok || !ws.exists() {
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
		if ws.exists() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (e *Engine) newStore(id string) *store.Store {
	opts := []store.Option{store.WithClock(e.cfg.Clock)}
	if e.cfg.Persister != nil {
		opts = append(opts, store.WithPersister(e.cfg.Persister))
	}
	st, _ := store.New(id, opts...) // New never fails
	return st
}

// acquire returns the workspace for a unit of work, creating an empty one
// in memory; it only becomes visible once an event commits in it. With a
// loader, a workspace not in memory may be stored: it is loaded (see
// freshen) before its first unit of work, and reason says why in the log.
// Every acquire is followed by a release.
func (e *Engine) acquire(id, reason string) *Workspace {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws, ok := e.workspaces[id]
	if !ok {
		ws = e.newWorkspace(id, e.newStore(id))
		ws.stale.Store(e.cfg.Loader != nil)
		ws.loadReason = reason
		e.workspaces[id] = ws
	}
	ws.users++
	ws.used.Store(e.cfg.Clock().UnixNano())
	return ws
}

// release ends an acquire, dropping a workspace in which nothing committed
// (or that was just deleted).
func (e *Engine) release(ws *Workspace) {
	e.mu.Lock()
	ws.users--
	drop := ws.users == 0 && !ws.exists() && e.workspaces[ws.ID] == ws
	if drop {
		delete(e.workspaces, ws.ID)
	}
	e.mu.Unlock()
	if drop {
		e.retire(ws)
	}
}
