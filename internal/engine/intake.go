package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// intake admits Apply calls: all of them, or none while a refusal is set
// (during a restore, once draining), and counts those in hand.
type intake struct {
	mu      sync.Mutex
	refusal error
	inHand  sync.WaitGroup
}

// Errors with which Apply refuses events while the engine cannot take them;
// both are EUNAVAILABLE, so the caller may send the events again later.
var (
	ErrRestoring    = &model.Error{Code: model.EUNAVAILABLE, Message: "workspaces are being restored after a start; retry shortly"}
	ErrShuttingDown = &model.Error{Code: model.EUNAVAILABLE, Message: "the server is shutting down and takes no more events; retry shortly"}
)

// Refuse makes every Apply from now on fail with err, which should be
// EUNAVAILABLE (ErrRestoring while a server restores before it takes
// events), until Accept. Calls in hand go on.
func (e *Engine) Refuse(err error) {
	e.intake.mu.Lock()
	e.intake.refusal = err
	e.intake.mu.Unlock()
}

// Accept ends a refusal set by Refuse.
func (e *Engine) Accept() { e.Refuse(nil) }

// Drain refuses new events with ErrShuttingDown and waits until every Apply
// in hand has returned (committed or failed as a whole), or ctx ends, in
// which case it returns ctx's error with those still in hand.
func (e *Engine) Drain(ctx context.Context) error {
	e.Refuse(ErrShuttingDown)
	done := make(chan struct{})
	go func() {
		e.intake.inHand.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("events still in hand: %w", context.Cause(ctx))
	}
}

// admit counts one Apply in hand, or returns the refusal. A call admitted
// must call e.intake.inHand.Done.
func (e *Engine) admit() error {
	e.intake.mu.Lock()
	defer e.intake.mu.Unlock()
	if e.intake.refusal != nil {
		return e.intake.refusal
	}
	e.intake.inHand.Add(1)
	return nil
}
