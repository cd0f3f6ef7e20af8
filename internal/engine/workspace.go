package engine

import (
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
}

func newWorkspace(id string, st *store.Store) *Workspace {
	ws := &Workspace{ID: id, lastSets: map[string]map[string]*model.Resource{}}
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

// Now returns the engine's clock's time.
func (e *Engine) Now() time.Time { return e.cfg.Clock() }

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

// acquire returns the workspace for an Apply, creating an empty one in
// memory; it only becomes visible once an event commits in it. Every
// acquire is followed by a release.
func (e *Engine) acquire(id string) *Workspace {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws, ok := e.workspaces[id]
	if !ok {
		ws = newWorkspace(id, e.newStore(id))
		e.workspaces[id] = ws
	}
	ws.users++
	return ws
}

// release ends an acquire, dropping a workspace in which nothing committed.
func (e *Engine) release(ws *Workspace) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws.users--
	if ws.users == 0 && !ws.exists() && e.workspaces[ws.ID] == ws {
		delete(e.workspaces, ws.ID)
	}
}
