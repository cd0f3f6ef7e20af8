package dispatch

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// Outcomes are recorded in batches, one unit of work per workspace and
// flush, so that 10,000 dispatches make a few hundred commits, not 10,000.

// recordLinger is how long a recorder waits for more outcomes before it
// writes what it has.
const recordLinger = 5 * time.Millisecond

// maxRecordBatch bounds the outcomes of one unit of work.
const maxRecordBatch = 500

// recorder writes one workspace's outcomes, in the order they came.
type recorder struct {
	ws       string
	attempts []engine.DispatchAttempt
	follows  []engine.FollowReport
	signal   chan struct{}
}

// record queues outcomes of a workspace's jobs (an attempt with a JobID, a
// follow report, or both) for writing. Until they are written the jobs'
// stored state is behind, so notifications about them wait.
func (d *Dispatcher) record(ws string, a engine.DispatchAttempt, f *engine.FollowReport) {
	d.mu.Lock()
	r := d.recorders[ws]
	if r == nil {
		r = &recorder{ws: ws, signal: make(chan struct{}, 1)}
		d.recorders[ws] = r
		d.wg.Go(func() { d.drain(r) })
	}
	if a.JobID != "" {
		r.attempts = append(r.attempts, a)
		d.recording[taskKey{ws: ws, job: a.JobID}]++
	}
	if f != nil {
		r.follows = append(r.follows, *f)
		d.recording[taskKey{ws: ws, job: f.JobID}]++
	}
	d.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// drain writes a recorder's outcomes as they come. A write that fails (the
// database is down) is tried again with backoff: the outcomes are kept, and
// should the process end first, the jobs are simply handed over again
// after the restart (at least once).
func (d *Dispatcher) drain(r *recorder) {
	failures := 0
	for {
		select {
		case <-r.signal:
		case <-d.ctx.Done():
			// Write what is in hand before stopping, if the engine takes it.
			d.flush(r)
			return
		}
		if !d.sleep(recordLinger) {
			d.flush(r)
			return
		}
		for !d.flush(r) {
			failures++
			if !d.sleep(d.backoff(failures, 0)) {
				return
			}
		}
		failures = 0
	}
}

// flush writes up to a batch of attempts and follow reports; it reports
// false when the engine refused them, keeping them for the next try.
func (d *Dispatcher) flush(r *recorder) bool {
	for {
		d.mu.Lock()
		attempts := r.attempts[:min(len(r.attempts), maxRecordBatch)]
		follows := r.follows[:min(len(r.follows), maxRecordBatch)]
		d.mu.Unlock()
		if len(attempts) == 0 && len(follows) == 0 {
			return true
		}
		if !d.cfg.Owns(r.ws) {
			// The workspace moved to another process, which hands the jobs
			// whose outcome is not recorded over again (at least once).
			d.log.Warn("dropping dispatch outcomes of a workspace this process no longer owns; its owner hands the jobs over again",
				"workspace", r.ws, "jobs", len(attempts)+len(follows))
			d.done(r, attempts, follows)
			continue
		}
		if len(attempts) > 0 {
			if err := d.cfg.Engine.RecordDispatches(d.ctx, r.ws, attempts); err != nil {
				d.log.Error("recording dispatch outcomes failed; retrying", "workspace", r.ws, "jobs", len(attempts), "err", err)
				return false
			}
		}
		if len(follows) > 0 {
			if err := d.cfg.Engine.RecordFollows(d.ctx, r.ws, follows); err != nil {
				d.log.Error("recording follow reports failed; retrying", "workspace", r.ws, "jobs", len(follows), "err", err)
				d.done(r, attempts, nil)
				return false
			}
		}
		d.done(r, attempts, follows)
	}
}

// done drops written outcomes from a recorder.
func (d *Dispatcher) done(r *recorder, attempts []engine.DispatchAttempt, follows []engine.FollowReport) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r.attempts = r.attempts[len(attempts):]
	r.follows = r.follows[len(follows):]
	for _, a := range attempts {
		d.settled(taskKey{ws: r.ws, job: a.JobID})
	}
	for _, f := range follows {
		d.settled(taskKey{ws: r.ws, job: f.JobID})
	}
}

func (d *Dispatcher) settled(k taskKey) {
	if d.recording[k]--; d.recording[k] <= 0 {
		delete(d.recording, k)
	}
}
