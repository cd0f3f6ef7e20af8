package sqlstore

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Workspaces returns the ids of the workspaces stored in the database, in
// ascending order: those with a row in the workspace table, which the engine
// writes with a workspace's first event.
func (db *DB) Workspaces(ctx context.Context) ([]string, error) {
	q := "SELECT DISTINCT " + quote(colWorkspace) + " FROM " + quote(store.Workspaces.TableName()) +
		" ORDER BY " + quote(colWorkspace)
	ids, err := db.be.queryStrings(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", db.be.translate(err))
	}
	return ids, nil
}

// LoadWorkspace reads every durable table's rows of workspace ws into st,
// which must be empty, in store.Tables order, and returns the number of rows
// loaded per table name. Rows are streamed: each document is decoded and put
// as it is read. On error st holds nothing of ws (store.Load discards a
// failed load).
func (db *DB) LoadWorkspace(ctx context.Context, ws string, st *store.Store) (counts map[string]int, err error) {
	ctx, span := db.tracer.Start(ctx, "sqlstore.LoadWorkspace", trace.WithAttributes(
		attribute.String("workspace.id", ws), attribute.String("db.system.name", db.be.dialect())))
	defer func() { endSpan(span, err) }()

	counts = make(map[string]int)
	total := 0
	err = st.Load(func(put func(store.Schema, any) error) error {
		for _, t := range store.Tables {
			if t.IsDerived() {
				continue
			}
			n, err := db.loadTable(ctx, ws, t, put)
			if err != nil {
				return fmt.Errorf("load %s: %w", t.TableName(), err)
			}
			counts[t.TableName()] = n
			total += n
		}
		return nil
	})
	span.SetAttributes(attribute.Int("db.rows", total))
	if err != nil {
		return nil, fmt.Errorf("load workspace %s: %w", ws, db.be.translate(err))
	}
	return counts, nil
}

// loadTable streams one table's documents of ws into put.
func (db *DB) loadTable(ctx context.Context, ws string, t store.Schema, put func(store.Schema, any) error) (int, error) {
	// No ORDER BY: memory orders by key itself, and sorting 100,000 rows
	// would only cost time.
	q := "SELECT " + quote(colData) + " FROM " + quote(t.TableName()) + " WHERE " + quote(colWorkspace) +
		" = " + db.be.placeholder(1)
	n := 0
	err := db.be.queryDocs(ctx, q, []any{ws}, func(doc []byte) error {
		obj, err := t.Decode(doc)
		if err != nil {
			return err
		}
		n++
		return put(t, obj)
	})
	return n, err
}
