package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/ingest"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// CallerHeader is the record header naming who sent a record's events (a
// model.Caller as JSON): the holder of the named token of the HTTP request
// produced. Records without it have no named caller. Whoever may produce to
// the topic may set it, as whoever may write to the database may write an
// approval: the topic is Gatehouse's own.
const CallerHeader = "gatehouse-caller"

// pollEvery is how often Submit looks in the database for the outcome of a
// record another process applies (this process's own are told at once).
const pollEvery = 50 * time.Millisecond

// Submit produces an HTTP events request (its body, holding n events) to
// the workspace's partition and waits until the workspace's owner, this
// process or another, committed it: it answers what the owner did, the
// events applied or the dead letter that refused them. It waits at most
// Config.AnswerTimeout, then fails with ingest.ErrNoAnswer (the record may
// still be applied). A body over Config.MaxRecordBytes is refused. The
// caller, when a named token sent the request, travels in the record's
// CallerHeader.
func (in *Intake) Submit(ctx context.Context, ws string, body []byte, n int, caller *model.Caller) (ingest.Submitted, error) {
	if len(body) > in.cfg.MaxRecordBytes {
		in.metrics.submitted.WithLabelValues("refused").Inc()
		return ingest.Submitted{}, model.Invalid("body", "is %d bytes; a request is one Kafka record, at most %d bytes",
			len(body), in.cfg.MaxRecordBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, in.cfg.AnswerTimeout)
	defer cancel()
	rec := &kgo.Record{Topic: in.cfg.Topic, Key: []byte(ws), Value: body}
	if caller != nil {
		who, err := json.Marshal(caller)
		if err != nil {
			return ingest.Submitted{}, fmt.Errorf("encode the caller: %w", err)
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: CallerHeader, Value: who})
	}
	res := in.cl.ProduceSync(ctx, rec)
	r, err := res.First()
	if err != nil {
		in.metrics.submitted.WithLabelValues("failed").Inc()
		return ingest.Submitted{}, model.Errorf(model.EUNAVAILABLE, "producing to kafka topic %s: %v", in.cfg.Topic, err)
	}
	pos := model.LogPosition{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	out, err := in.await(ctx, ws, pos, n)
	switch {
	case err != nil:
		in.metrics.submitted.WithLabelValues("timeout").Inc()
	case out.DeadLetter != nil:
		in.metrics.submitted.WithLabelValues("refused").Inc()
	default:
		in.metrics.submitted.WithLabelValues("committed").Inc()
	}
	return out, err
}

// await waits for the outcome of the record at pos: told by this
// process's consumer, or found in the database.
func (in *Intake) await(ctx context.Context, ws string, pos model.LogPosition, n int) (ingest.Submitted, error) {
	told := in.waiters.add(pos)
	defer in.waiters.remove(pos, told)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case out := <-told:
			return ingest.Submitted{Applied: out.Applied, DeadLetter: out.DeadLetter}, nil
		case <-tick.C:
			done, dl, err := in.cfg.DB.RecordOutcome(ctx, ws, pos)
			if err == nil && done {
				if dl != nil {
					return ingest.Submitted{Applied: dl.Applied, DeadLetter: dl}, nil
				}
				return ingest.Submitted{Applied: n}, nil
			}
		case <-ctx.Done():
			return ingest.Submitted{}, fmt.Errorf("%w: the events were produced to %s partition %d at offset %d "+
				"and were not committed within %s; they may still be applied (send them again with the same eventId)",
				ingest.ErrNoAnswer, pos.Topic, pos.Partition, pos.Offset, in.cfg.AnswerTimeout)
		}
	}
}

// waiters are the Submit calls waiting for records this process applies.
type waiters struct {
	mu sync.Mutex
	m  map[model.LogPosition][]chan engine.RecordOutcome
}

func (w *waiters) add(pos model.LogPosition) chan engine.RecordOutcome {
	ch := make(chan engine.RecordOutcome, 1)
	w.mu.Lock()
	w.m[pos] = append(w.m[pos], ch)
	w.mu.Unlock()
	return ch
}

func (w *waiters) remove(pos model.LogPosition, ch chan engine.RecordOutcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	chs := w.m[pos]
	for i, c := range chs {
		if c == ch {
			chs = append(chs[:i], chs[i+1:]...)
			break
		}
	}
	if len(chs) == 0 {
		delete(w.m, pos)
	} else {
		w.m[pos] = chs
	}
}

// deliver tells the waiters of pos what became of its record. A record
// applied before (replayed) tells nobody: its first application did.
func (w *waiters) deliver(pos model.LogPosition, out engine.RecordOutcome) {
	if out.Replayed {
		return
	}
	w.mu.Lock()
	chs := w.m[pos]
	delete(w.m, pos)
	w.mu.Unlock()
	for _, ch := range chs {
		ch <- out
	}
}
