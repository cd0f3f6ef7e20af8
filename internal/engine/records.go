package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Records come from a partitioned log (a Kafka topic, key = workspace id).
// A record carries what one HTTP request would: one event or several,
// applied as one Apply call applies them. Many records share one
// transaction (group commit), and the workspace's position in the
// partition is written in it, so that however often a record is delivered
// its effects are applied once.

// Record is one record of a partitioned log addressed to one workspace.
type Record struct {
	model.LogPosition
	// Value is the record as it arrived, kept in its dead letter.
	Value []byte
	// Events are the record's decoded events.
	Events []Event
	// Invalid, when set, is why the record did not decode: it is kept as a
	// dead letter and nothing of it is applied.
	Invalid error
}

// RecordOutcome is what became of one record.
type RecordOutcome struct {
	// Applied is the number of the record's events applied now.
	Applied int
	// Replayed is set for a record the workspace had applied before (its
	// position in the partition is past it): nothing was done again.
	Replayed bool
	// DeadLetter is set when the record was refused, as it was kept.
	DeadLetter *model.DeadLetter
}

// ApplyRecords applies records of one partition addressed to workspace
// wsID, in the order given (their offsets'), in one transaction together
// with the workspace's new position in the partition: all of them or none.
// A record before the workspace's position is skipped (Replayed). A record
// that did not decode, or one of whose events is refused, is kept as a dead
// letter with why (the events before the refused one stay applied, as in
// Apply) and the records after it go on, so one bad record never holds up
// the others. The error is the batch's: the commit failed (EUNAVAILABLE,
// nothing applied: the same records may be applied again later), this
// process does not own the workspace (ErrNotOwner), or the engine takes no
// events (Refuse). An event failing as unavailable fails the batch too.
func (e *Engine) ApplyRecords(ctx context.Context, wsID string, recs []Record) ([]RecordOutcome, error) {
	if err := checkWorkspaceID(wsID); err != nil {
		return nil, err
	}
	if err := e.admit(); err != nil {
		return nil, err
	}
	defer e.intake.inHand.Done()
	var outs []RecordOutcome
	err := e.inWorkspace(ctx, wsID, "touched", func(ws *Workspace) error {
		var err error
		outs, err = e.applyRecords(ctx, ws, recs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// CheckWorkspaceID refuses a workspace id no database keeps (empty, a NUL,
// too long) as EINVALID naming workspaceId.
func CheckWorkspaceID(id string) error { return checkWorkspaceID(id) }

// applyRecords is ApplyRecords' unit of work, under ws's writer.
func (e *Engine) applyRecords(ctx context.Context, ws *Workspace, recs []Record) ([]RecordOutcome, error) {
	tx := e.begin(ctx, ws, ws.Store())
	defer tx.Abort()
	outs := make([]RecordOutcome, len(recs))
	var after effects
	for i := range recs {
		r := &recs[i]
		key := model.PartitionKey(r.Topic, r.Partition)
		if pos, err := store.ConsumerOffsets.Get(tx, key); err == nil && r.Offset < pos.Next {
			outs[i].Replayed = true
			continue
		}
		failed := r.Invalid
		for j, ev := range r.Events {
			if failed != nil {
				break
			}
			eff, err := e.applyOne(tx, ws, ev)
			if model.ErrorCode(err) == model.EUNAVAILABLE {
				return nil, err
			}
			if err != nil {
				failed = eventError(j, outs[i].Applied, len(r.Events), ev, err)
				break
			}
			after.merge(eff)
			outs[i].Applied++
		}
		if failed != nil {
			dl, err := e.deadLetter(tx, ws, r, failed, outs[i].Applied)
			if err != nil {
				return nil, err
			}
			outs[i].DeadLetter = dl
		}
		pos := &model.ConsumerOffset{Topic: r.Topic, Partition: r.Partition, Next: r.Offset + 1, UpdatedAt: tx.Now()}
		if err := store.ConsumerOffsets.Upsert(tx, key, pos); err != nil {
			return nil, err
		}
	}
	if err := e.pruneEventIDs(tx, ws); err != nil {
		return nil, err
	}
	if err := e.commit(ws, tx); err != nil {
		if len(recs) > 1 {
			err = fmt.Errorf("none of the %d records was applied: %w", len(recs), err)
		}
		return nil, err
	}
	e.afterCommit(ws, after)
	return outs, nil
}

// applyOne applies one event of a record with a savepoint: refused, it
// leaves nothing in tx.
func (e *Engine) applyOne(tx *store.Tx, ws *Workspace, ev Event) (effects, error) {
	h, err := handlerFor(ev)
	if err != nil {
		return effects{}, err
	}
	sp := tx.Savepoint()
	eff, err := e.applyIn(tx, ws, ev, func(u *unit) error { return h(u, ev.Data) })
	if err != nil {
		tx.RollbackTo(sp)
	}
	return eff, err
}

// deadLetter keeps a refused record in tx, with what an HTTP request
// carrying it would have been answered. The workspace exists from then on
// (it received records), so that its dead letters can be read.
func (e *Engine) deadLetter(tx *store.Tx, ws *Workspace, r *Record, failed error, applied int) (*model.DeadLetter, error) {
	if !store.Workspaces.Has(tx, ws.ID) {
		if err := store.Workspaces.Upsert(tx, ws.ID, &model.Workspace{ID: ws.ID, CreatedAt: tx.Now()}); err != nil {
			return nil, err
		}
	}
	dl := NewDeadLetter(r.LogPosition, ws.ID, r.Value, failed)
	dl.Applied = applied
	dl.RecordedAt = tx.Now()
	if err := store.DeadLetters.Upsert(tx, dl.ID(), dl); err != nil {
		return nil, err
	}
	return dl, nil
}

// NewDeadLetter describes the record at pos with key and value, refused
// with err: its value kept (the first model.DeadLetterValueBytes of it, as
// text when it is text), and err as an HTTP answer would carry it. Internal
// errors keep their message here: the operator reads it, not a caller.
func NewDeadLetter(pos model.LogPosition, key string, value []byte, err error) *model.DeadLetter {
	dl := &model.DeadLetter{LogPosition: pos, Key: key, ValueBytes: len(value),
		Error: err.Error(), Code: model.ErrorCode(err), Field: model.ErrorField(err)}
	kept := value
	if len(kept) > model.DeadLetterValueBytes {
		kept, dl.Truncated = kept[:model.DeadLetterValueBytes], true
		// Cut before a character that would be split, so text stays text.
		for i := 0; i < utf8.UTFMax && len(kept) > 0 && !utf8.RuneStart(value[len(kept)]); i++ {
			kept = kept[:len(kept)-1]
		}
	}
	if utf8.Valid(kept) && !strings.ContainsRune(string(kept), 0) {
		dl.Value, dl.ValueEncoding = string(kept), model.ValueText
	} else {
		dl.Value, dl.ValueEncoding = base64.StdEncoding.EncodeToString(kept), model.ValueBase64
	}
	var ee *EventError
	if errors.As(err, &ee) {
		index := ee.Index
		dl.Index, dl.Applied = &index, ee.Applied
	}
	return dl
}
