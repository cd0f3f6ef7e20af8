package dispatch

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// spanNames name the span of each kind of task.
var spanNames = [...]string{none: "dispatch.None", send: "dispatch.Send", follow: "dispatch.Follow", lease: "dispatch.ExpireLease"}

// run carries out one task and says what the job needs next.
func (d *Dispatcher) run(t *task) step {
	ws, ok := d.cfg.Engine.Workspace(t.key.ws)
	if !ok || !d.cfg.Owns(t.key.ws) {
		return step{}
	}
	snap := ws.Store().Snapshot()
	j, err := store.Jobs.Get(snap, t.key.job)
	if err != nil || !model.IsProcessingJobStatus(j.Status) {
		return step{}
	}
	typ := d.typeOf(j)
	if typ == nil {
		return step{}
	}
	// Each task is background work with a trace of its own: the call to
	// the agent and, for a lease, the unit of work that returns the job.
	ctx, span := otel.Tracer("gatehouse/dispatch").Start(d.ctx, spanNames[t.kind], trace.WithAttributes(
		attribute.String("workspace.id", t.key.ws), attribute.String("job.id", j.ID), attribute.String("agent.type", typ.Name)))
	defer span.End()
	switch t.kind {
	case send:
		return d.send(ctx, snap, t.key.ws, j, typ)
	case follow:
		return d.follow(ctx, snap, t.key.ws, j, typ)
	case lease:
		return d.expire(ctx, t.key.ws, j)
	}
	return step{}
}

// send makes one attempt to hand a pending job to its agent and records
// how it went.
func (d *Dispatcher) send(ctx context.Context, r store.Reader, ws string, j *model.Job, typ *agents.Type) step {
	if j.Status != model.JobPending || (j.Dispatch != nil && !j.Dispatch.DispatchedAt.IsZero()) || typ.Agent == nil {
		return step{}
	}
	attempt := 1
	if j.Dispatch != nil {
		attempt = j.Dispatch.Attempts + 1
	}
	start := d.cfg.Clock()
	res, err := d.dispatchOnce(ctx, r, ws, j, typ)
	d.metrics.observeDispatch(typ.Name, d.cfg.Clock().Sub(start))
	out := engine.DispatchAttempt{JobID: j.ID, At: start}
	next := step{}
	if err == nil {
		d.metrics.dispatched(typ.Name, "delivered")
		out.Delivered = true
		out.ExternalID, out.Status, out.Message, out.Links = res.ExternalID, res.Status, res.Message, res.Links
		if typ.Follower != nil && (res.Status == "" || model.IsProcessingJobStatus(res.Status)) {
			next = step{kind: follow, at: d.cfg.Clock()}
		}
	} else {
		e := agents.Classify(err)
		out.Error = e.Message
		switch {
		case !e.Retryable:
			d.metrics.dispatched(typ.Name, "failed")
		case attempt >= d.cfg.MaxAttempts:
			d.metrics.dispatched(typ.Name, "failed")
			out.Error = fmt.Sprintf("gave up after %d attempts: %s", attempt, e.Message)
		default:
			d.metrics.dispatched(typ.Name, "retry")
			out.RetryAt = d.cfg.Clock().Add(d.backoff(attempt, e.RetryAfter))
			next = step{kind: send, at: out.RetryAt}
		}
		d.log.Warn("dispatch failed", "workspace", ws, "job", j.ID, "agentType", typ.Name,
			"attempt", attempt, "retryAt", out.RetryAt, "err", e.Message)
	}
	d.record(ws, out, nil)
	return next
}

func (d *Dispatcher) dispatchOnce(ctx context.Context, r store.Reader, ws string, j *model.Job, typ *agents.Type) (agents.Result, error) {
	aj, err := Prepare(r, ws, j, typ, d.cfg.Opener)
	if err != nil {
		return agents.Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	return typ.Agent.Dispatch(ctx, aj)
}

// follow asks the agent how a dispatched job is going, records what
// changed, and follows it again while it is under way.
func (d *Dispatcher) follow(ctx context.Context, r store.Reader, ws string, j *model.Job, typ *agents.Type) step {
	if typ.Follower == nil {
		return step{}
	}
	again := step{kind: follow, at: d.cfg.Clock().Add(d.followInterval(typ))}
	aj, err := Prepare(r, ws, j, typ, d.cfg.Opener)
	var u agents.Update
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
		u, err = typ.Follower.Follow(ctx, aj)
		cancel()
	}
	if err != nil {
		e := agents.Classify(err)
		d.metrics.followed(typ.Name, "error")
		if e.Retryable {
			d.log.Warn("following a job failed; trying again", "job", j.ID, "agentType", typ.Name, "err", e.Message)
			if e.RetryAfter > 0 {
				again.at = d.cfg.Clock().Add(e.RetryAfter)
			}
			return again
		}
		d.record(ws, engine.DispatchAttempt{}, &engine.FollowReport{JobID: j.ID,
			Status: model.JobInvalidIntegration, Message: e.Message})
		return step{}
	}
	d.metrics.followed(typ.Name, "ok")
	if u.Status != "" || u.ExternalID != "" || u.Message != "" || len(u.Links) > 0 {
		d.record(ws, engine.DispatchAttempt{}, &engine.FollowReport{JobID: j.ID, Status: u.Status,
			ExternalID: u.ExternalID, Message: u.Message, Links: u.Links})
	}
	if u.Status != "" && !model.IsProcessingJobStatus(u.Status) {
		return step{}
	}
	if u.NextPoll > 0 {
		again.at = d.cfg.Clock().Add(u.NextPoll)
	}
	return again
}

// expire returns a claimed job whose lease ran out to pending; one whose
// lease was extended meanwhile is looked at again when that one ends.
func (d *Dispatcher) expire(ctx context.Context, ws string, j *model.Job) step {
	if j.Dispatch == nil || j.Dispatch.LeaseExpiresAt.IsZero() || j.Status == model.JobPending {
		return step{}
	}
	if until := j.Dispatch.LeaseExpiresAt; until.After(d.cfg.Clock()) {
		return step{kind: lease, at: until}
	}
	if err := d.cfg.Engine.ExpireLease(ctx, ws, j.ID); err != nil {
		d.log.Warn("returning a job whose lease ran out failed; trying again", "job", j.ID, "err", err)
		return step{kind: lease, at: d.cfg.Clock().Add(d.cfg.BaseBackoff)}
	}
	return step{}
}

// typeOfKey returns the agent type of a job by key, nil when unknown.
func (d *Dispatcher) typeOfKey(k taskKey) *agents.Type {
	ws, ok := d.cfg.Engine.Workspace(k.ws)
	if !ok {
		return nil
	}
	j, err := store.Jobs.Get(ws.Store().Snapshot(), k.job)
	if err != nil {
		return nil
	}
	return d.typeOf(j)
}

// sleep waits d or until the dispatcher closes.
func (d *Dispatcher) sleep(wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-d.ctx.Done():
		return false
	}
}
