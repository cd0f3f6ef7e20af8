package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Event ids make redelivery harmless: an event whose id was applied is
// acknowledged and changes nothing. The id is remembered with a hash of
// the event, so that an id reused for a different event is refused rather
// than silently ignored.

// payloadHash identifies an event's content: its type and its data, with
// insignificant whitespace and key order removed, so that a producer
// re-encoding the same event is not refused.
func payloadHash(ev Event) string {
	h := sha256.New()
	h.Write([]byte(ev.Type))
	h.Write([]byte{0})
	var v any
	dec := json.NewDecoder(bytes.NewReader(ev.Data))
	dec.UseNumber()
	if err := dec.Decode(&v); err == nil {
		if canonical, err := json.Marshal(v); err == nil {
			h.Write(canonical)
			return hex.EncodeToString(h.Sum(nil))
		}
	}
	h.Write(ev.Data)
	return hex.EncodeToString(h.Sum(nil))
}

// alreadyApplied reports whether an event with this id was applied; the
// same id with a different payload is ECONFLICT.
func alreadyApplied(r store.Reader, ev Event) (bool, error) {
	if ev.ID == "" {
		return false, nil
	}
	rec, err := store.ProcessedEvents.Get(r, ev.ID)
	if err != nil {
		return false, nil
	}
	// Records from before payloads were hashed carry none.
	if rec.PayloadHash != "" && (rec.PayloadHash != payloadHash(ev) || rec.EventType != ev.Type) {
		return false, model.Errorf(model.ECONFLICT, "eventId %q was already applied to a different event (%s at %s)",
			ev.ID, rec.EventType, rec.ProcessedAt.Format(time.RFC3339))
	}
	return true, nil
}

// recordApplied remembers an applied event's id, in its transaction.
func recordApplied(tx *store.Tx, ev Event) error {
	if ev.ID == "" {
		return nil
	}
	rec := &model.ProcessedEvent{ID: ev.ID, EventType: ev.Type, PayloadHash: payloadHash(ev), ProcessedAt: tx.Now()}
	return store.ProcessedEvents.Upsert(tx, ev.ID, rec)
}

// pruneEvery is how often a workspace forgets expired event ids.
const pruneEvery = time.Hour

// pruneEventIDs forgets event ids older than the retention window, at most
// once per pruneEvery per workspace, in the transaction of the batch that
// happens to run then.
func (e *Engine) pruneEventIDs(tx *store.Tx, ws *Workspace) error {
	now := tx.Now()
	if now.Sub(ws.pruned) < pruneEvery {
		return nil
	}
	ws.pruned = now
	cutoff := now.Add(-e.cfg.EventIDRetention)
	for _, rec := range store.ProcessedEvents.Items(tx) {
		if rec.ProcessedAt.Before(cutoff) {
			if err := store.ProcessedEvents.Remove(tx, rec.ID); err != nil {
				return err
			}
		}
	}
	return nil
}
