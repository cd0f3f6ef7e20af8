package engine

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The engine keeps the outbox of jobs for their agents: each job carries
// its dispatch state (model.JobDispatch), which the dispatcher changes only
// through the methods below, each a unit of work like any event. Handing
// jobs over and following them happens outside the engine, after commits
// (see Config.OnJobs).

// DispatchAttempt is the outcome of one attempt to hand a job to its agent.
type DispatchAttempt struct {
	JobID string
	// At is when the attempt was made.
	At time.Time
	// Delivered is true when the agent has the job.
	Delivered bool
	// ExternalID, Status, Message and Links are what the agent answered
	// (see agents.Result).
	ExternalID, Status, Message string
	Links                       map[string]string
	// Error is what went wrong when the job was not delivered.
	Error string
	// RetryAt, for a job not delivered, is when to try again; zero gives
	// up: the job becomes invalidIntegration with Error as its message.
	RetryAt time.Time
}

// FollowReport is what following a dispatched job found out.
type FollowReport struct {
	JobID string
	// Status, ExternalID, Message and Links as in agents.Update; empty
	// fields change nothing.
	Status, ExternalID, Message string
	Links                       map[string]string
}

// linkPrefix prefixes the metadata keys holding an agent's links.
const linkPrefix = "link:"

// RecordDispatches records attempts to hand jobs of one workspace to their
// agents, all in one unit of work. An attempt for a job that is gone is
// ignored; one for a job no longer pending changes only its dispatch
// bookkeeping, and only when it was delivered.
func (e *Engine) RecordDispatches(ctx context.Context, wsID string, attempts []DispatchAttempt) error {
	return e.jobWork(ctx, wsID, "job.dispatched", func(u *unit) error {
		for _, a := range attempts {
			if err := u.eachJob(a.JobID, func(cur *model.Job) error { return u.recordAttempt(cur, a) }); err != nil {
				return err
			}
		}
		return nil
	})
}

func (u *unit) recordAttempt(cur *model.Job, a DispatchAttempt) error {
	if cur.Status != model.JobPending {
		return u.recordLateDelivery(cur, a)
	}
	next := *cur
	d := dispatchOf(cur)
	d.Attempts++
	d.LastAttemptAt = a.At.UTC()
	next.Dispatch = d
	switch {
	case a.Delivered:
		d.DispatchedAt, d.LastError, d.NextAttemptAt = a.At.UTC(), "", time.Time{}
		applyReport(&next, FollowReport{Status: a.Status, ExternalID: a.ExternalID, Message: a.Message, Links: a.Links})
	case a.RetryAt.IsZero():
		d.LastError, d.NextAttemptAt = a.Error, time.Time{}
		next.Status, next.Message = model.JobInvalidIntegration, a.Error
	default:
		d.LastError, d.NextAttemptAt = a.Error, a.RetryAt.UTC()
	}
	return u.saveJob(cur, &next)
}

// recordLateDelivery records a delivery that its agent reported on
// (job.updated) before the delivery itself was recorded, as a receiver
// that starts work at once does: the job shows it was handed over, and
// what the agent reported since stands. A failed attempt on a job that
// moved on meanwhile (cancelled, superseded) changes nothing.
func (u *unit) recordLateDelivery(cur *model.Job, a DispatchAttempt) error {
	if !a.Delivered || (cur.Dispatch != nil && !cur.Dispatch.DispatchedAt.IsZero()) {
		return nil
	}
	next := *cur
	d := dispatchOf(cur)
	d.Attempts++
	d.LastAttemptAt, d.DispatchedAt, d.LastError, d.NextAttemptAt = a.At.UTC(), a.At.UTC(), "", time.Time{}
	next.Dispatch = d
	if next.ExternalID == "" {
		next.ExternalID = a.ExternalID
	}
	return u.saveJob(cur, &next)
}

// RecordFollows records what following jobs of one workspace found out,
// in one unit of work; a report on a job that is gone or already terminal
// is ignored (the agent may lag behind a cancellation).
func (e *Engine) RecordFollows(ctx context.Context, wsID string, reports []FollowReport) error {
	return e.jobWork(ctx, wsID, "job.followed", func(u *unit) error {
		for _, r := range reports {
			if err := u.eachJob(r.JobID, func(cur *model.Job) error {
				if !model.IsProcessingJobStatus(cur.Status) {
					return nil
				}
				next := *cur
				applyReport(&next, r)
				return u.saveJob(cur, &next)
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyReport copies what an agent said onto a job.
func applyReport(j *model.Job, r FollowReport) {
	if r.Status != "" {
		j.Status = r.Status
	}
	if r.ExternalID != "" {
		j.ExternalID = r.ExternalID
	}
	if r.Message != "" {
		j.Message = r.Message
	}
	if len(r.Links) > 0 {
		j.Metadata = maps.Clone(j.Metadata)
		if j.Metadata == nil {
			j.Metadata = map[string]string{}
		}
		for label, url := range r.Links {
			j.Metadata[linkPrefix+label] = url
		}
	}
}

// Claim hands a pending job of a pull agent to the runner that asks,
// atomically: the job moves to inProgress with a lease that heartbeats
// extend. A job that is not pending (already claimed, finished) is
// ECONFLICT; a job of an agent Gatehouse pushes to is ECONFLICT too.
func (e *Engine) Claim(ctx context.Context, wsID, jobID string, lease time.Duration) (*model.Job, error) {
	return e.leaseWork(ctx, wsID, jobID, "job.claimed", func(u *unit, cur *model.Job) (*model.Job, error) {
		if t := e.agentType(cur); t != "" && !e.isPull(t) {
			return nil, model.Errorf(model.ECONFLICT, "job %s is for a %s agent, which Gatehouse dispatches itself", cur.ID, t)
		}
		if cur.Status != model.JobPending {
			return nil, model.Errorf(model.ECONFLICT, "job %s is %s: it was claimed already or has ended", cur.ID, cur.Status)
		}
		next := *cur
		d := dispatchOf(cur)
		now := u.tx.Now()
		d.Attempts++
		d.LastAttemptAt, d.DispatchedAt, d.LeaseExpiresAt, d.LastError = now, now, now.Add(lease), ""
		next.Dispatch = d
		next.Status = model.JobInProgress
		return &next, nil
	})
}

// Heartbeat extends the lease of a claimed job; a job that is not under a
// lease (never claimed, returned after its lease ran out, finished) is
// ECONFLICT.
func (e *Engine) Heartbeat(ctx context.Context, wsID, jobID string, lease time.Duration) (*model.Job, error) {
	return e.leaseWork(ctx, wsID, jobID, "job.heartbeat", func(u *unit, cur *model.Job) (*model.Job, error) {
		if !model.IsProcessingJobStatus(cur.Status) || cur.Dispatch == nil || cur.Dispatch.LeaseExpiresAt.IsZero() ||
			cur.Status == model.JobPending {
			return nil, model.Errorf(model.ECONFLICT, "job %s (%s) is not claimed", cur.ID, cur.Status)
		}
		next := *cur
		d := dispatchOf(cur)
		d.LeaseExpiresAt = u.tx.Now().Add(lease)
		next.Dispatch = d
		return &next, nil
	})
}

// ExpireLease puts a claimed job whose lease ran out back to pending, for
// another runner; a job whose lease was extended or that ended is left.
func (e *Engine) ExpireLease(ctx context.Context, wsID, jobID string) error {
	_, err := e.leaseWork(ctx, wsID, jobID, "job.lease-expired", func(u *unit, cur *model.Job) (*model.Job, error) {
		d := cur.Dispatch
		if !model.IsProcessingJobStatus(cur.Status) || cur.Status == model.JobPending || d == nil ||
			d.LeaseExpiresAt.IsZero() || u.tx.Now().Before(d.LeaseExpiresAt) {
			return nil, nil
		}
		next := *cur
		nd := dispatchOf(cur)
		nd.LeaseExpiresAt, nd.DispatchedAt = time.Time{}, time.Time{}
		nd.LastError = "the runner's lease ran out without a heartbeat"
		next.Dispatch = nd
		next.Status = model.JobPending
		return &next, nil
	})
	return err
}

// leaseWork runs a change of one job as a unit of work and returns the job
// as stored afterwards; change returns nil to change nothing.
func (e *Engine) leaseWork(ctx context.Context, wsID, jobID, kind string,
	change func(u *unit, cur *model.Job) (*model.Job, error)) (*model.Job, error) {
	var out *model.Job
	err := e.jobWork(ctx, wsID, kind, func(u *unit) error {
		cur, err := store.Jobs.Get(u.tx, jobID)
		if errors.Is(err, model.ErrNotFound) {
			return model.Errorf(model.ENOTFOUND, "job %q does not exist", jobID)
		}
		if err != nil {
			return err
		}
		next, err := change(u, cur)
		if err != nil || next == nil {
			out = cur
			return err
		}
		out = next
		return u.saveJob(cur, next)
	})
	return out, err
}

// jobWork runs fn as one unit of work in an existing workspace.
func (e *Engine) jobWork(ctx context.Context, wsID, kind string, fn func(u *unit) error) error {
	if _, ok := e.Workspace(wsID); !ok && e.cfg.Loader == nil {
		return notFound(wsID)
	}
	return e.inWorkspace(ctx, wsID, "touched", func(ws *Workspace) error {
		if !ws.exists() {
			return notFound(wsID)
		}
		return e.unitIn(ctx, ws, Event{Type: kind}, fn)
	})
}

// eachJob calls fn with a job that exists; a missing one is skipped.
func (u *unit) eachJob(id string, fn func(*model.Job) error) error {
	cur, err := store.Jobs.Get(u.tx, id)
	if err != nil {
		return nil
	}
	return fn(cur)
}

// dispatchOf returns a copy of a job's dispatch state to change.
func dispatchOf(j *model.Job) *model.JobDispatch {
	if j.Dispatch == nil {
		return &model.JobDispatch{}
	}
	d := *j.Dispatch
	return &d
}

// agentType returns the type of the agent a job was made for.
func (e *Engine) agentType(j *model.Job) string {
	if j.DispatchContext == nil {
		return ""
	}
	return j.DispatchContext.JobAgent.Type
}

// isPull reports whether agents of the type are pull runners; without a
// registry every type is.
func (e *Engine) isPull(typ string) bool {
	if e.cfg.Agents == nil {
		return true
	}
	t, ok := e.cfg.Agents[typ]
	return !ok || t.Pull
}
