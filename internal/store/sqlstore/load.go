package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// loadBlock is how many documents travel together from the reader to the
// decoders and on to the store: enough to make channel operations cheap,
// few enough that the first entities reach the store early.
const loadBlock = 256

// Workspaces returns the ids of the workspaces stored in the database, in
// ascending order: those with a row in the workspace table, which the engine
// writes with a workspace's first event. The query must finish within the
// DB's timeout.
func (db *DB) Workspaces(ctx context.Context) ([]string, error) {
	q := "SELECT DISTINCT " + quote(colWorkspace) + " FROM " + quote(store.Workspaces.TableName()) +
		" ORDER BY " + quote(colWorkspace)
	ctx, cancel := db.bound(ctx)
	defer cancel()
	ids, err := db.be.queryStrings(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", db.fail(ctx, err))
	}
	return ids, nil
}

// LoadWorkspace reads every durable table's rows of workspace ws into st (a
// new store for ws; see store.Load) and returns the number of rows loaded
// per table name (every durable table is present, zero when empty).
//
// Rows are streamed, not collected: one goroutine reads the tables in
// store.Tables order, decoders on every core turn documents into entities,
// and the calling goroutine puts them into the store as they arrive. Each
// table's query must deliver a row within every period of the DB's
// timeout (a large table may take longer in all). On error st holds nothing of ws (store.Load
// discards a failed load); one that did not answer in time is EUNAVAILABLE
// with ErrTimeout in the chain.
func (db *DB) LoadWorkspace(ctx context.Context, ws string, st *store.Store) (counts map[string]int, err error) {
	ctx, span := db.tracer.Start(ctx, "sqlstore.LoadWorkspace", trace.WithAttributes(
		attribute.String("workspace.id", ws), attribute.String("db.system.name", db.be.dialect())))
	defer func() { endSpan(span, err) }()

	counts = make(map[string]int)
	err = st.Load(func(put func(store.Schema, any) error) error {
		return db.load(ctx, ws, put, counts)
	})
	total := 0
	for _, n := range counts {
		total += n
	}
	span.SetAttributes(attribute.Int("db.rows", total))
	if err != nil {
		return nil, fmt.Errorf("load workspace %s: %w", ws, interpret(db.be.dialect(), db.be.translate, err))
	}
	return counts, nil
}

// docBlock is up to loadBlock documents of one table, as read (docs) and
// then as decoded (objs).
type docBlock struct {
	table store.Schema
	docs  [][]byte
	objs  []any
}

// load runs the read → decode → put pipeline. put is only called from the
// calling goroutine, as store.Load requires.
func (db *DB) load(ctx context.Context, ws string, put func(store.Schema, any) error, counts map[string]int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := runtime.GOMAXPROCS(0)
	read := make(chan *docBlock, 2*workers)
	decoded := make(chan *docBlock, 2*workers)

	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(read)
		if err := db.readTables(ctx, ws, read); err != nil {
			cancel(err)
		}
	})
	var decoders sync.WaitGroup
	for range workers {
		decoders.Go(func() { decode(ctx, cancel, read, decoded) })
	}
	go func() {
		decoders.Wait()
		close(decoded)
	}()

	for _, t := range store.Tables {
		if !t.IsDerived() {
			counts[t.TableName()] = 0
		}
	}
	// Keep receiving after a failure, so that no decoder is left blocked.
	for b := range decoded {
		if ctx.Err() != nil {
			continue
		}
		for _, obj := range b.objs {
			if err := put(b.table, obj); err != nil {
				cancel(err)
				break
			}
		}
		counts[b.table.TableName()] += len(b.objs)
	}
	wg.Wait()
	return context.Cause(ctx)
}

// readTables sends every durable table's documents of ws, in blocks.
func (db *DB) readTables(ctx context.Context, ws string, out chan<- *docBlock) error {
	for _, t := range store.Tables {
		if t.IsDerived() {
			continue
		}
		// No ORDER BY: memory orders by key itself.
		q := "SELECT " + quote(colData) + " FROM " + quote(t.TableName()) + " WHERE " + quote(colWorkspace) +
			" = " + db.be.placeholder(1)
		b := &docBlock{table: t}
		send := func() error {
			select {
			case out <- b:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			b = &docBlock{table: t, docs: make([][]byte, 0, loadBlock)}
			return nil
		}
		err := db.readTable(ctx, q, ws, func(doc []byte) error {
			// doc is only valid until the next row.
			b.docs = append(b.docs, bytes.Clone(doc))
			if len(b.docs) == loadBlock {
				return send()
			}
			return nil
		})
		if err == nil && len(b.docs) > 0 {
			err = send()
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", t.TableName(), err)
		}
	}
	return nil
}

// readTable runs one table's query of a load; the database must deliver
// a row (or the end) within every period of the DB's timeout.
func (db *DB) readTable(ctx context.Context, q, ws string, fn func(doc []byte) error) error {
	ctx, alive, cancel := db.watch(ctx)
	defer cancel()
	return markTimeout(ctx, db.timeout, db.be.queryDocs(ctx, q, []any{ws}, func(doc []byte) error {
		alive()
		return fn(doc)
	}))
}

// decode turns blocks of documents into blocks of entities until in is
// closed or the load fails.
func decode(ctx context.Context, cancel context.CancelCauseFunc, in <-chan *docBlock, out chan<- *docBlock) {
	for b := range in {
		if ctx.Err() != nil {
			return
		}
		b.objs = make([]any, len(b.docs))
		for i, doc := range b.docs {
			obj, err := b.table.Decode(doc)
			if err != nil {
				cancel(err)
				return
			}
			b.objs[i] = obj
		}
		b.docs = nil
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
	}
}
