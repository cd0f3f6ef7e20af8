package api

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// outages logs why a workspace's writes fail, once per failure episode: the
// first write answered 503 (the database unavailable, timed out, read-only)
// logs its cause at ERROR with the workspace; the ones after it are counted
// without a line each, until the workspace's next successful write ends the
// episode with one INFO line. Refusals while restoring or shutting down are
// states of the server, not failures, and are not logged here.
type outages struct {
	logger *slog.Logger
	mu     sync.Mutex
	// failing counts the writes refused in each workspace's episode.
	failing map[string]int
}

func newOutages(logger *slog.Logger) *outages {
	return &outages{logger: logger, failing: map[string]int{}}
}

// record notes the outcome of one write to workspace ws.
func (o *outages) record(ws string, err error) {
	switch {
	case err == nil:
		o.mu.Lock()
		refused, was := o.failing[ws]
		delete(o.failing, ws)
		o.mu.Unlock()
		if was {
			o.logger.Info("workspace writes succeed again", "workspace", ws, "refused", refused)
		}
	case model.ErrorCode(err) == model.EUNAVAILABLE &&
		!errors.Is(err, engine.ErrRestoring) && !errors.Is(err, engine.ErrShuttingDown):
		o.mu.Lock()
		refused, was := o.failing[ws]
		o.failing[ws] = refused + 1
		o.mu.Unlock()
		if !was {
			o.logger.Error("workspace writes failing; answering 503 until a write succeeds", "workspace", ws, "err", err)
		}
	}
}
