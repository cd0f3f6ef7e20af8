package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Fixed columns of every table: the key before the table's own columns, the
// document after them.
const (
	colWorkspace = "workspace_id"
	colID        = "id"
	colData      = "data"
)

// Persist writes one workspace's batch in one database transaction: every
// change or none. It implements store.Persister.
//
// Changes are written with multi-row statements, per table: first the
// table's deletes, then its upserts in change order (see plan). Each
// statement, COMMIT included, must finish within the DB's timeout (see
// watch); a large batch may take longer in all. On
// failure the transaction is rolled back and the error is translated: a
// unique violation is ECONFLICT; a busy or unreachable database, or one that
// did not answer in time (ErrTimeout), EUNAVAILABLE. A batch with a Lease
// that is no longer the workspace's (see fence) fails with store.ErrFenced
// and writes nothing. An error for which
// OutcomeUnknown is true is EUNAVAILABLE too, but the batch may have been
// committed. Persist may be called concurrently for different workspaces.
func (db *DB) Persist(ctx context.Context, b store.Batch) (err error) {
	ctx, span := db.tracer.Start(ctx, "sqlstore.Persist", trace.WithAttributes(
		attribute.String("workspace.id", b.WorkspaceID),
		attribute.Int("db.rows", len(b.Changes)),
		attribute.String("db.system.name", db.be.dialect())))
	defer func() { endSpan(span, err) }()

	groups := plan(b.Changes)
	if len(groups) == 0 {
		return nil
	}
	start := time.Now()
	defer func() { db.metrics.observe(time.Since(start), len(b.Changes), err) }()
	enc := db.newEncoder(b.WorkspaceID, groups)
	defer enc.close()
	ctx, alive, cancel := db.watch(ctx)
	defer cancel()
	err = db.be.inTx(ctx, func(exec execFunc) error {
		if b.Lease != nil {
			if err := db.fence(ctx, exec, b.WorkspaceID, *b.Lease); err != nil {
				return err
			}
		}
		for i, c := range enc.chunks {
			alive()
			if err := db.execChunk(ctx, exec, i+1, c); err != nil {
				return err
			}
			enc.done(c)
		}
		// COMMIT gets a whole timeout of its own.
		alive()
		return nil
	})
	span.SetAttributes(attribute.Int("db.statements", len(enc.chunks)))
	if errors.Is(err, store.ErrFenced) {
		return fmt.Errorf("persist workspace %s: %w", b.WorkspaceID, err)
	}
	if err != nil {
		return fmt.Errorf("persist workspace %s: %w", b.WorkspaceID, db.fail(ctx, err))
	}
	return nil
}

// execChunk runs c as statement number n once its arguments are built.
// Errors are returned raw for Persist to translate once.
func (db *DB) execChunk(ctx context.Context, exec execFunc, n int, c *chunk) error {
	if err := c.wait(); err != nil {
		return err
	}
	query := db.statement(c.g, len(c.rows))
	if db.hook != nil {
		if err := db.hook(n); err != nil {
			return err
		}
	}
	if _, err := exec(ctx, query, c.args); err != nil {
		return fmt.Errorf("%s %d %s rows: %w", c.g.verb(), len(c.rows), c.g.table.TableName(), err)
	}
	return nil
}

// group is a run of changes of one table and one kind, all deletes or all
// upserts, written by statements of at most maxRows rows each.
type group struct {
	table   store.Schema
	upsert  bool
	changes []store.Change
}

// width is the number of bind parameters one row of the group takes.
func (g group) width() int {
	if g.upsert {
		return 3 + len(g.table.ColumnNames())
	}
	return 1
}

func (g group) verb() string {
	if g.upsert {
		return "upsert"
	}
	return "delete"
}

// plan orders a batch into groups: tables in order of first appearance, and
// within each table its deletes first, then its upserts in change order.
//
// This is the fewest statements that are always correct, because rows of
// different tables never constrain each other (there are no foreign keys
// between entity tables) and within a table each key occurs once in a batch
// (changes are net). A delete only frees values of unique columns, so moving
// deletes first can only avoid a violation (a resource deleted after another
// took its identifier), never cause one. Upserts keep their order, and both
// dialects check unique constraints row by row within a multi-row statement,
// so a row that gives up a value before another takes it still works.
// Interleaving per change instead would turn a batch of alternating releases
// and jobs into 20,000 one-row statements. Derived tables are skipped.
func plan(changes []store.Change) []group {
	type runs struct{ deletes, upserts []store.Change }
	var order []store.Schema
	byTable := make(map[string]*runs)
	for _, c := range changes {
		if c.Table == nil || c.Table.IsDerived() {
			continue
		}
		r := byTable[c.Table.TableName()]
		if r == nil {
			r = &runs{}
			byTable[c.Table.TableName()] = r
			order = append(order, c.Table)
		}
		if c.After == nil {
			r.deletes = append(r.deletes, c)
		} else {
			r.upserts = append(r.upserts, c)
		}
	}
	groups := make([]group, 0, 2*len(order))
	for _, t := range order {
		r := byTable[t.TableName()]
		if len(r.deletes) > 0 {
			groups = append(groups, group{table: t, changes: r.deletes})
		}
		if len(r.upserts) > 0 {
			groups = append(groups, group{table: t, upsert: true, changes: r.upserts})
		}
	}
	return groups
}

// stmtKey identifies one statement shape.
type stmtKey struct {
	table  string
	upsert bool
	rows   int
}

// statement returns the SQL text of g's statement for rows rows, built once
// per shape. A batch's full chunks share one shape; only its last chunk
// differs.
func (db *DB) statement(g group, rows int) string {
	key := stmtKey{table: g.table.TableName(), upsert: g.upsert, rows: rows}
	if q, ok := db.stmts.Load(key); ok {
		return q.(string)
	}
	var q string
	if g.upsert {
		q = upsertSQL(db.be, g.table.TableName(), g.table.ColumnNames(), rows)
	} else {
		q = deleteSQL(db.be, g.table.TableName(), rows)
	}
	db.stmts.Store(key, q)
	return q
}

// upsertSQL is
//
//	INSERT INTO t (workspace_id, id, cols..., data) VALUES (...), (...)
//	ON CONFLICT (workspace_id, id) DO UPDATE SET col = excluded.col, ..., data = excluded.data
//
// which both dialects accept as is.
func upsertSQL(be backend, table string, cols []string, rows int) string {
	all := make([]string, 0, len(cols)+3)
	all = append(all, colWorkspace, colID)
	all = append(all, cols...)
	all = append(all, colData)

	var b strings.Builder
	b.Grow(64 + rows*len(all)*7)
	b.WriteString("INSERT INTO ")
	b.WriteString(quote(table))
	b.WriteString(" (")
	for i, c := range all {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c))
	}
	b.WriteString(") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range all {
			if i > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteString(be.placeholder(n))
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (")
	b.WriteString(quote(colWorkspace) + ", " + quote(colID))
	b.WriteString(") DO UPDATE SET ")
	for i, c := range all[2:] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c) + " = excluded." + quote(c))
	}
	return b.String()
}

// deleteSQL is DELETE FROM t WHERE workspace_id = $1 AND id IN ($2, ...).
func deleteSQL(be backend, table string, rows int) string {
	var b strings.Builder
	b.WriteString("DELETE FROM " + quote(table) + " WHERE " + quote(colWorkspace) + " = " + be.placeholder(1) +
		" AND " + quote(colID) + " IN (")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(be.placeholder(i + 2))
	}
	b.WriteByte(')')
	return b.String()
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
