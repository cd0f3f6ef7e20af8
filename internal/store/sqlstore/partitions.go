package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Partitions of a log (Kafka topics): where consumption of each resumes and
// who consumes it. A workspace's own position in a partition is its
// consumer_offset row, written with the records' effects; the partition's
// next_offset is only a floor below which every workspace has applied every
// record, advanced after those transactions committed.

// Partition is what the database holds about one partition of a topic.
type Partition struct {
	Topic     string
	Partition int32
	// Next is where a new consumer of the partition starts reading.
	Next int64
	// Owner and Address name the process the partition was last assigned
	// to.
	Owner, Address string
}

// Partitions returns the partitions of topic the database knows, by number.
func (db *DB) Partitions(ctx context.Context, topic string) (map[int32]Partition, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	q := `SELECT "partition", "next_offset", "owner", "address" FROM "kafka_partition" WHERE "topic" = ` + db.be.placeholder(1)
	out := map[int32]Partition{}
	err := db.be.queryRows(ctx, q, []any{topic}, func(scan func(...any) error) error {
		p := Partition{Topic: topic}
		if err := scan(&p.Partition, &p.Next, &p.Owner, &p.Address); err != nil {
			return err
		}
		out[p.Partition] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, db.fail(ctx, err))
	}
	return out, nil
}

// ClaimPartitions records owner, serving at address, as the consumer of
// the partitions of topic, keeping where each resumes.
func (db *DB) ClaimPartitions(ctx context.Context, topic string, partitions []int32, owner, address string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	ph := db.be.placeholder
	q := `INSERT INTO "kafka_partition" ("topic", "partition", "next_offset", "owner", "address") VALUES (` +
		ph(1) + `, ` + ph(2) + `, 0, ` + ph(3) + `, ` + ph(4) + `) ON CONFLICT ("topic", "partition") DO UPDATE SET ` +
		`"owner" = excluded."owner", "address" = excluded."address"`
	err := db.be.inTx(ctx, func(exec execFunc) error {
		for _, p := range partitions {
			if _, err := exec(ctx, q, []any{topic, p, owner, address}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("claim partitions of %s: %w", topic, db.fail(ctx, err))
	}
	return nil
}

// AdvancePartition raises the floor of a partition to next (it never
// lowers it) and keeps the dead letters of records that named no usable
// workspace (a missing key, one no database keeps), in one transaction. A
// dead letter kept already is left as it is, so a redelivery adds nothing.
func (db *DB) AdvancePartition(ctx context.Context, topic string, partition int32, next int64, orphans []*model.DeadLetter) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	ph := db.be.placeholder
	greatest := "GREATEST"
	if db.be.dialect() == DialectSQLite {
		greatest = "MAX" // SQLite's scalar max of two values
	}
	q := `INSERT INTO "kafka_partition" ("topic", "partition", "next_offset", "owner", "address") VALUES (` +
		ph(1) + `, ` + ph(2) + `, ` + ph(3) + `, '', '') ON CONFLICT ("topic", "partition") DO UPDATE SET ` +
		`"next_offset" = ` + greatest + `("kafka_partition"."next_offset", excluded."next_offset")`
	dl := `INSERT INTO "dead_letter" ("workspace_id", "id", "recorded_at", "data") VALUES ('', ` + ph(1) + `, ` +
		ph(2) + `, ` + ph(3) + `) ON CONFLICT ("workspace_id", "id") DO NOTHING`
	err := db.be.inTx(ctx, func(exec execFunc) error {
		for _, d := range orphans {
			doc, err := store.DeadLetters.Encode(d)
			if err != nil {
				return err
			}
			if _, err := exec(ctx, dl, []any{d.ID(), db.be.columnArg(d.RecordedAt), db.be.dataArg(doc)}); err != nil {
				return err
			}
		}
		_, err := exec(ctx, q, []any{topic, partition, next})
		return err
	})
	if err != nil {
		return fmt.Errorf("advance partition %s/%d: %w", topic, partition, db.fail(ctx, err))
	}
	return nil
}

// RecordOutcome reports whether workspace ws has applied the record at pos
// (its position in the partition is past it) and, if the record was
// refused, its dead letter. It reads the database, so any process can
// answer for a record another one applied.
func (db *DB) RecordOutcome(ctx context.Context, ws string, pos model.LogPosition) (bool, *model.DeadLetter, error) {
	off, err := readDoc(ctx, db, store.ConsumerOffsets, ws, model.PartitionKey(pos.Topic, pos.Partition))
	if errors.Is(err, model.ErrNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	if off.Next <= pos.Offset {
		return false, nil, nil
	}
	dl, err := readDoc(ctx, db, store.DeadLetters, ws, pos.ID())
	if errors.Is(err, model.ErrNotFound) {
		return true, nil, nil
	}
	if err != nil {
		return true, nil, err
	}
	return true, dl, nil
}

// HasWorkspace reports whether ws is stored: whether an event ever
// committed in it (and it was not deleted since).
func (db *DB) HasWorkspace(ctx context.Context, ws string) (bool, error) {
	_, err := readDoc(ctx, db, store.Workspaces, ws, ws)
	if errors.Is(err, model.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Holds reports whether the database holds anything of ws: a row in one of
// store.Anchors, which every stored workspace has. It is one query, so
// that touching a workspace that does not exist costs little.
func (db *DB) Holds(ctx context.Context, ws string) (bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var parts []string
	var args []any
	for i, t := range store.Anchors {
		parts = append(parts, `SELECT "workspace_id" FROM `+quote(t.TableName())+` WHERE "workspace_id" = `+db.be.placeholder(i+1))
		args = append(args, ws)
	}
	ids, err := db.be.queryStrings(ctx, strings.Join(parts, " UNION ALL ")+" LIMIT 1", args...)
	if err != nil {
		return false, fmt.Errorf("look up workspace %s: %w", ws, db.fail(ctx, err))
	}
	return len(ids) > 0, nil
}

// WorkspaceRecords returns every stored workspace, by id.
func (db *DB) WorkspaceRecords(ctx context.Context) ([]*model.Workspace, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	q := `SELECT "data" FROM "workspace" ORDER BY "workspace_id"`
	var out []*model.Workspace
	err := db.be.queryDocs(ctx, q, nil, func(doc []byte) error {
		v, err := store.Workspaces.Decode(doc)
		if err != nil {
			return err
		}
		out = append(out, v.(*model.Workspace))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", db.fail(ctx, err))
	}
	return out, nil
}

// OrphanDeadLetters returns the dead letters of records that named no
// usable workspace, oldest first.
func (db *DB) OrphanDeadLetters(ctx context.Context) ([]*model.DeadLetter, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	q := `SELECT "data" FROM "dead_letter" WHERE "workspace_id" = '' ORDER BY "recorded_at", "id"`
	var out []*model.DeadLetter
	err := db.be.queryDocs(ctx, q, nil, func(doc []byte) error {
		v, err := store.DeadLetters.Decode(doc)
		if err != nil {
			return err
		}
		out = append(out, v.(*model.DeadLetter))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", db.fail(ctx, err))
	}
	return out, nil
}

// readDoc reads one row of table t by key; ENOTFOUND when there is none.
func readDoc[T any](ctx context.Context, db *DB, t *store.Table[T], ws, id string) (*T, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	q := `SELECT "data" FROM ` + quote(t.TableName()) + ` WHERE "workspace_id" = ` + db.be.placeholder(1) +
		` AND "id" = ` + db.be.placeholder(2)
	var out *T
	err := db.be.queryDocs(ctx, q, []any{ws, id}, func(doc []byte) error {
		v, err := t.Decode(doc)
		if err != nil {
			return err
		}
		out = v.(*T)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", t.TableName(), id, db.fail(ctx, err))
	}
	if out == nil {
		return nil, model.ErrNotFound
	}
	return out, nil
}

// PartitionWorkspaces returns the stored workspaces fed from partition of
// topic (they have a position there), and those fed from no partition yet
// (written before intake from the log began), each sorted.
func (db *DB) PartitionWorkspaces(ctx context.Context, topic string, partition int32) (fed, unfed []string, err error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	ph := db.be.placeholder
	fedQ := `SELECT o."workspace_id" FROM "consumer_offset" o WHERE o."id" = ` + ph(1) +
		` AND EXISTS (SELECT 1 FROM "workspace" w WHERE w."workspace_id" = o."workspace_id") ORDER BY 1`
	unfedQ := `SELECT w."workspace_id" FROM "workspace" w WHERE NOT EXISTS ` +
		`(SELECT 1 FROM "consumer_offset" o WHERE o."workspace_id" = w."workspace_id") ORDER BY 1`
	if fed, err = db.be.queryStrings(ctx, fedQ, model.PartitionKey(topic, partition)); err == nil {
		unfed, err = db.be.queryStrings(ctx, unfedQ)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("workspaces of partition %s/%d: %w", topic, partition, db.fail(ctx, err))
	}
	return fed, unfed, nil
}

// FedFrom returns the partition of topic workspace ws was last fed from,
// false when none.
func (db *DB) FedFrom(ctx context.Context, ws, topic string) (int32, bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	q := `SELECT "data" FROM "consumer_offset" WHERE "workspace_id" = ` + db.be.placeholder(1)
	var best *model.ConsumerOffset
	err := db.be.queryDocs(ctx, q, []any{ws}, func(doc []byte) error {
		v, err := store.ConsumerOffsets.Decode(doc)
		if err != nil {
			return err
		}
		o := v.(*model.ConsumerOffset)
		if o.Topic == topic && (best == nil || o.UpdatedAt.After(best.UpdatedAt)) {
			best = o
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("partition of %s: %w", ws, db.fail(ctx, err))
	}
	if best == nil {
		return 0, false, nil
	}
	return best.Partition, true, nil
}
