package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// record builds a record of partition 3 of topic "events" at offset.
func record(offset int64, events ...engine.Event) engine.Record {
	return engine.Record{LogPosition: model.LogPosition{Topic: "events", Partition: 3, Offset: offset},
		Value: []byte("record"), Events: events}
}

// TestEngine_ApplyRecords applies records in one transaction with the
// workspace's position: a bad record becomes a dead letter without holding
// up the others, a record refused half-way keeps the events before the
// refused one, and delivering the same records again changes nothing.
func TestEngine_ApplyRecords(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			eng := newDurableEngine(db)
			defer eng.Close()
			ctx := context.Background()
			undecodable := engine.Record{LogPosition: model.LogPosition{Topic: "events", Partition: 3, Offset: 11},
				Value: []byte("{\"eventType\": \x00"), Invalid: model.Invalid("body", "malformed JSON")}
			recs := []engine.Record{
				record(10, pipeline(t)...),
				undecodable,
				record(12, resourceCreated(t, "r1", ""),
					ev(t, "resource.created", "", map[string]any{"id": "r2", "name": "r2", "stauts": "x"})),
				record(13, resourceCreated(t, "r3", "")),
			}
			outs, err := eng.ApplyRecords(ctx, "ws", recs)
			if err != nil {
				t.Fatalf("ApplyRecords: %v", err)
			}
			if outs[0].Applied != len(pipeline(t)) || outs[0].DeadLetter != nil || outs[3].Applied != 1 {
				t.Errorf("outcomes of the good records: %+v, %+v", outs[0], outs[3])
			}
			dl := outs[1].DeadLetter
			if dl == nil || dl.Code != model.EINVALID || dl.Field != "body" || dl.ValueEncoding != model.ValueBase64 {
				t.Errorf("undecodable record's dead letter: %+v, want invalid body kept in base64 (it holds a NUL)", dl)
			}
			dl = outs[2].DeadLetter
			if dl == nil || dl.Index == nil || *dl.Index != 1 || dl.Applied != 1 || outs[2].Applied != 1 ||
				!strings.Contains(dl.Error, `"stauts"`) || dl.Field == "" {
				t.Errorf("record refused at its second event: %+v (applied %d), want index 1, 1 applied, naming the field",
					dl, outs[2].Applied)
			}
			snap := snapshot(t, eng, "ws")
			for id, want := range map[string]bool{"r1": true, "r2": false, "r3": true} {
				if store.Resources.Has(snap, id) != want {
					t.Errorf("resource %s present: %v, want %v", id, !want, want)
				}
			}
			pos, err := store.ConsumerOffsets.Get(snap, model.PartitionKey("events", 3))
			if err != nil || pos.Next != 14 {
				t.Errorf("position after the batch: %+v %v, want next 14", pos, err)
			}
			if n := store.DeadLetters.Count(snap); n != 2 {
				t.Errorf("%d dead letters, want 2", n)
			}
			before := loadDurable(t, db, "ws")
			assertSameTables(t, "memory after the batch", memoryOf(t, eng, "ws"), before)

			// Delivered again (a consumer restarted from an older offset),
			// with one new record after them.
			again, err := eng.ApplyRecords(ctx, "ws", append(recs, record(14, resourceCreated(t, "r4", ""))))
			if err != nil {
				t.Fatalf("ApplyRecords again: %v", err)
			}
			for i := range recs {
				if !again[i].Replayed || again[i].Applied != 0 {
					t.Errorf("record %d delivered again: %+v, want replayed", i, again[i])
				}
			}
			if again[4].Applied != 1 {
				t.Errorf("the new record: %+v", again[4])
			}
			after := loadDurable(t, db, "ws")
			for table, rows := range before {
				if table != "resource" && table != "consumer_offset" && table != "release" && table != "job" && table != "entity_snapshot" && rows != after[table] {
					t.Errorf("table %s changed by records delivered again", table)
				}
			}
			if n := store.Jobs.Count(snapshot(t, eng, "ws")); n != 12 {
				t.Errorf("%d jobs, want 12 (4 for each of r1, r3, r4)", n)
			}
			for _, id := range []string{"r1", "r3", "r4"} {
				if !strings.Contains(after["resource"], `"`+id+`"`) {
					t.Errorf("resource %s missing from the database", id)
				}
			}
		})
	}
}

// TestEngine_DeadLetterValue: a dead letter keeps text as text, other bytes
// in base64, and at most the first 64 KiB, cut between characters.
func TestEngine_DeadLetterValue(t *testing.T) {
	pos := model.LogPosition{Topic: "t", Partition: 0, Offset: 1}
	err := model.Invalid("body", "bad")
	text := engine.NewDeadLetter(pos, "ws", []byte(`{"a": "é"}`), err)
	if text.ValueEncoding != model.ValueText || text.Value != `{"a": "é"}` || text.Truncated {
		t.Errorf("text value: %+v", text)
	}
	big := []byte(strings.Repeat("a", model.DeadLetterValueBytes-1) + "éé")
	cut := engine.NewDeadLetter(pos, "ws", big, err)
	if !cut.Truncated || cut.ValueEncoding != model.ValueText || len(cut.Value) != model.DeadLetterValueBytes-1 ||
		cut.ValueBytes != len(big) {
		t.Errorf("long value: truncated %v, encoding %s, %d bytes kept of %d", cut.Truncated, cut.ValueEncoding,
			len(cut.Value), cut.ValueBytes)
	}
	binary := engine.NewDeadLetter(pos, "ws", []byte("\xff\xfe"), err)
	if binary.ValueEncoding != model.ValueBase64 || binary.Value != "//4=" {
		t.Errorf("binary value: %+v", binary)
	}
}
