package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Hub tells the console's live streams that a workspace committed. The
// engine calls Publish after every commit (engine.Config.OnCommit); each
// open stream of that workspace then sends one event, and the page reads
// itself again.
//
// A Hub is safe for concurrent use; the zero value is not, use NewHub.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewHub returns a Hub with no streams.
func NewHub() *Hub { return &Hub{subs: map[string]map[chan struct{}]struct{}{}} }

// Publish tells the streams of workspace ws that it committed. It never
// blocks: a stream that has not sent the previous notice yet sends one for
// both, which is all a page needs to read itself again.
func (h *Hub) Publish(ws string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[ws] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// subscribe opens a stream's feed for ws; cancel closes it.
func (h *Hub) subscribe(ws string) (feed <-chan struct{}, cancel func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs[ws] == nil {
		h.subs[ws] = map[chan struct{}]struct{}{}
	}
	h.subs[ws][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[ws], ch)
		if len(h.subs[ws]) == 0 {
			delete(h.subs, ws)
		}
		h.mu.Unlock()
	}
}

// streams counts the open streams of ws, for tests.
func (h *Hub) streams(ws string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[ws])
}

// events is a workspace's live stream (text/event-stream): an event
// "commit" with {"workspace": id} after each commit, a comment as a
// heartbeat otherwise. It ends when the client goes or the console closes.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	ws := r.PathValue("ws")
	rc := http.NewResponseController(w)
	var feed <-chan struct{}
	if c.cfg.Hub != nil {
		f, cancel := c.cfg.Hub.subscribe(ws)
		defer cancel()
		feed = f
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy must pass each event on at once
	w.WriteHeader(http.StatusOK)
	data, _ := json.Marshal(map[string]string{"workspace": ws})
	// The retry field asks a browser's EventSource to come back after 2 s.
	if _, err := fmt.Fprint(w, "retry: 2000\n: live\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(c.cfg.Heartbeat)
	defer beat.Stop()
	for {
		var msg string
		select {
		case <-r.Context().Done():
			return
		case <-c.closed:
			return
		case <-feed:
			msg = "event: commit\ndata: " + string(data) + "\n\n"
		case <-beat.C:
			msg = ": heartbeat\n\n"
		}
		if _, err := fmt.Fprint(w, msg); err != nil || rc.Flush() != nil {
			return
		}
	}
}
