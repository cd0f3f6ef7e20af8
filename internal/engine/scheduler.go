package engine

import (
	"context"
	"sync"
	"time"
)

// The scheduler honours every nextEvaluationTime by itself: after a unit of
// work asks to be looked at again at t, a timer applies an internal tick to
// the workspace at t. One timer per workspace, armed for the earliest time
// asked for; a tick re-arms it from the new decisions.

type wakeup struct {
	mu    sync.Mutex
	at    time.Time
	timer interface{ Stop() bool }
}

// scheduled arms the workspace's timer for t when t is earlier than what it
// waits for (or it waits for nothing).
func (e *Engine) scheduled(ws *Workspace, t time.Time) {
	if t.IsZero() || e.closed() || ws.gone.Load() {
		return
	}
	w := &ws.wakeup
	w.mu.Lock()
	defer w.mu.Unlock()
	now := e.cfg.Clock()
	if !w.at.IsZero() && !w.at.Before(now) && !t.Before(w.at) {
		return
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	w.at = t
	// A small margin past the due time keeps a decision computed at the
	// tick's fixed "now" from landing a hair before its own boundary.
	delay := max(t.Sub(now), 0) + 10*time.Millisecond
	w.timer = e.cfg.AfterFunc(delay, func() { e.wake(ws) })
}

// wake re-evaluates a workspace's targets because a time it asked for came.
func (e *Engine) wake(ws *Workspace) {
	ws.wakeup.mu.Lock()
	ws.wakeup.at = time.Time{}
	ws.wakeup.mu.Unlock()
	if e.closed() {
		return
	}
	err := e.work(context.Background(), ws, Event{Type: "workspace.tick"}, func(u *unit) error { return tick(u, nil) })
	if err != nil {
		e.cfg.Logger.Error("scheduled evaluation failed; retrying in a minute", "workspace", ws.ID, "err", err)
		e.scheduled(ws, e.cfg.Clock().Add(time.Minute))
	}
}

// Close stops the scheduler: no timer fires afterwards, and an evaluation
// under way has finished when Close returns. Events may still be applied;
// they just arm no timers.
func (e *Engine) Close() {
	e.mu.Lock()
	e.stopped = true
	e.cancel()
	workspaces := make([]*Workspace, 0, len(e.workspaces))
	for _, ws := range e.workspaces {
		workspaces = append(workspaces, ws)
	}
	e.mu.Unlock()
	for _, ws := range workspaces {
		ws.wakeup.mu.Lock()
		if ws.wakeup.timer != nil {
			ws.wakeup.timer.Stop()
		}
		ws.wakeup.mu.Unlock()
		// A scheduled evaluation already running holds the workspace's
		// writer; taking it waits for that evaluation to commit, so the
		// database can be closed after Close returns.
		ws.mu.Lock()
		ws.mu.Unlock()
	}
	e.loops.Wait()
}

func (e *Engine) closed() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.stopped
}
