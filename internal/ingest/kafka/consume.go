package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/ingest"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Retry waits while the database cannot take a round's records.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
)

// workspaceConcurrency bounds the workspaces of one partition applied at
// once: each is its own transaction, and they are independent.
const workspaceConcurrency = 4

// Run consumes until ctx ends or the engine stops taking events, then
// returns with the records in hand applied or left for the next owner. It
// returns nil then.
func (in *Intake) Run(ctx context.Context) error {
	for {
		fetches := in.cl.PollRecords(ctx, in.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			in.cl.AllowRebalance()
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			in.log.Warn("kafka fetch failed; the client retries", "topic", topic, "partition", p, "err", err)
		})
		err := in.round(ctx, fetches)
		in.cl.AllowRebalance()
		in.yield.Store(false)
		if errors.Is(err, errStopped) {
			return nil
		}
	}
}

// round applies one poll's records, every partition at once, each
// partition's workspaces a few at a time, and then raises each partition's
// floor. It returns errStopped when ctx ended or the engine refused
// events; the records not applied are applied by whoever consumes next.
func (in *Intake) round(ctx context.Context, fetches kgo.Fetches) error {
	// Records begun are finished even when ctx ends meanwhile: a commit
	// cut short would leave its outcome unknown. ctx only stops retries.
	work := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stop error
	rewind := map[int32]kgo.EpochOffset{}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if fp.Topic != in.cfg.Topic || len(fp.Records) == 0 {
			return
		}
		lag := in.metrics.lag.WithLabelValues(partitionLabel(fp.Partition))
		// Until they are applied the records in hand count as lag, so a
		// round held up (the database down) shows its backlog.
		lag.Set(float64(max(fp.HighWatermark-fp.Records[0].Offset, 0)))
		wg.Go(func() {
			if err := in.partition(ctx, work, fp.Partition, fp.Records); err != nil {
				mu.Lock()
				if stop == nil || errors.Is(err, errStopped) {
					stop = err
				}
				rewind[fp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: fp.Records[0].Offset}
				mu.Unlock()
				return
			}
			last := fp.Records[len(fp.Records)-1].Offset
			lag.Set(float64(max(fp.HighWatermark-last-1, 0)))
		})
	})
	wg.Wait()
	if errors.Is(stop, errYield) && len(rewind) > 0 {
		// The client fetches on from where this round's records ended:
		// what was left is read again, by this process if it keeps the
		// partition (the positions skip what was applied), else by the
		// next owner from the floor.
		in.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{in.cfg.Topic: rewind})
	}
	return stop
}

// partition applies the records of one partition, grouped by workspace,
// and raises the partition's floor past them once every group committed.
func (in *Intake) partition(ctx, work context.Context, p int32, recs []*kgo.Record) error {
	groups, order, orphans := in.group(p, recs)
	sem := make(chan struct{}, workspaceConcurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stop error
	for _, ws := range order {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := in.apply(ctx, work, p, ws, groups[ws]); err != nil {
				mu.Lock()
				stop = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if stop != nil {
		return stop
	}
	next := recs[len(recs)-1].Offset + 1
	return in.retry(ctx, "raising a partition's floor", func() error {
		return in.cfg.DB.AdvancePartition(work, in.cfg.Topic, p, next, orphans)
	})
}

// group decodes a partition's records into each workspace's, in order, and
// the dead letters of records that name no workspace this process can
// apply them to.
func (in *Intake) group(p int32, recs []*kgo.Record) (map[string][]engine.Record, []string, []*model.DeadLetter) {
	groups := map[string][]engine.Record{}
	var order []string
	var orphans []*model.DeadLetter
	for _, r := range recs {
		pos := model.LogPosition{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
		ws := string(r.Key)
		if err := engine.CheckWorkspaceID(ws); err != nil {
			err = model.Invalid("key", "a record's key must be its workspace id: %v", err)
			dl := engine.NewDeadLetter(pos, printableKey(r.Key), r.Value, err)
			dl.RecordedAt = time.Now().UTC()
			orphans = append(orphans, dl)
			in.metrics.records.WithLabelValues("dead_letter").Inc()
			in.log.Warn("record dead-lettered: it names no workspace", "partition", p, "offset", r.Offset, "err", err)
			continue
		}
		rec := engine.Record{LogPosition: pos, Value: r.Value}
		rec.Events, rec.Invalid = ingest.Decode(r.Value, ws)
		if rec.Invalid == nil {
			rec.Invalid = withCaller(rec.Events, r.Headers)
		}
		if _, seen := groups[ws]; !seen {
			order = append(order, ws)
		}
		groups[ws] = append(groups[ws], rec)
	}
	return groups, order, orphans
}

// apply applies one workspace's records of a round, retrying while the
// database cannot take them. A workspace whose lease is not this process's
// is taken (by force: its partition is assigned here) and tried again.
func (in *Intake) apply(ctx, work context.Context, p int32, ws string, recs []engine.Record) error {
	if in.cfg.Leases != nil && !in.cfg.Leases.Owns(ws) {
		if _, err := in.cfg.Leases.Take(work, []string{ws}, true); err != nil {
			in.log.Warn("taking a workspace's lease failed; retrying", "workspace", ws, "err", err)
		}
	}
	in.hold(p, ws)
	outs, err := in.applyRecords(ctx, work, ws, recs)
	if err != nil {
		return err
	}
	for i, out := range outs {
		switch {
		case out.Replayed:
			in.metrics.records.WithLabelValues("replayed").Inc()
		case out.DeadLetter != nil:
			in.metrics.records.WithLabelValues("dead_letter").Inc()
			in.log.Warn("record dead-lettered", "workspace", ws, "partition", p, "offset", recs[i].Offset,
				"err", out.DeadLetter.Error)
		default:
			in.metrics.records.WithLabelValues("applied").Inc()
		}
		in.waiters.deliver(recs[i].LogPosition, out)
	}
	return nil
}

// applyRecords applies records of one workspace, retrying while the
// database cannot take them. When their transaction is refused for another
// reason (a constraint the database enforces), they are applied one at a
// time, and a record refused alone is kept as a dead letter with why: one
// bad record never holds up a partition.
func (in *Intake) applyRecords(ctx, work context.Context, ws string, recs []engine.Record) ([]engine.RecordOutcome, error) {
	var outs []engine.RecordOutcome
	var refused error
	err := in.retry(ctx, "applying records", func() error {
		var err error
		outs, err = in.cfg.Engine.ApplyRecords(work, ws, recs)
		switch {
		case errors.Is(err, engine.ErrNotOwner), errors.Is(err, store.ErrFenced):
			if in.cfg.Leases != nil {
				_, _ = in.cfg.Leases.Take(work, []string{ws}, true)
			}
		case err != nil && model.ErrorCode(err) != model.EUNAVAILABLE:
			refused, err = err, nil
		}
		return err
	})
	if err != nil || refused == nil {
		return outs, err
	}
	if len(recs) == 1 && recs[0].Invalid == nil {
		alone := recs[0]
		alone.Events, alone.Invalid = nil, refused
		return in.applyRecords(ctx, work, ws, []engine.Record{alone})
	}
	if len(recs) == 1 {
		return nil, refused
	}
	outs = outs[:0]
	for _, r := range recs {
		out, err := in.applyRecords(ctx, work, ws, []engine.Record{r})
		if err != nil {
			return nil, err
		}
		outs = append(outs, out...)
	}
	return outs, nil
}

// retry runs fn until it succeeds, waiting longer each time while it fails
// as unavailable (the database is down: consumption pauses), and gives up
// with errStopped when ctx ends or the engine refuses events, and with
// errYield when a rebalance is waiting for the round.
func (in *Intake) retry(ctx context.Context, what string, fn func() error) error {
	wait := minRetry
	logged := false
	for {
		err := fn()
		switch {
		case err == nil:
			if logged {
				in.log.Info(what + " succeeds again; consumption resumes")
			}
			return nil
		case errors.Is(err, engine.ErrShuttingDown), ctx.Err() != nil, in.ctx.Err() != nil:
			return errStopped
		case in.yield.Load():
			// A rebalance waits for this round: records not applied are
			// left, rather than fought for with the partition's next owner.
			return errYield
		case !logged:
			in.log.Error(what+" failed; consumption pauses and retries", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return errStopped
		case <-in.ctx.Done():
			return errStopped
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetry)
	}
}

// printableKey is a record's key as a dead letter can keep it.
func printableKey(key []byte) string {
	s := string(key)
	if strconv.CanBackquote(s) && len(s) <= 1024 {
		return s
	}
	if len(key) > 1024 {
		key = key[:1024]
	}
	return strconv.QuoteToASCII(string(key))
}

func partitionLabel(p int32) string { return strconv.FormatInt(int64(p), 10) }

// withCaller gives events the caller a record's CallerHeader names; a
// header that is not a caller refuses the record.
func withCaller(events []engine.Event, headers []kgo.RecordHeader) error {
	for _, h := range headers {
		if h.Key != CallerHeader {
			continue
		}
		var c model.Caller
		if err := json.Unmarshal(h.Value, &c); err != nil || c.Name == "" {
			return model.Invalid("headers."+CallerHeader, "must be a caller, {\"name\": …, \"groups\": […]}")
		}
		for i := range events {
			events[i].Caller = &c
		}
	}
	return nil
}
