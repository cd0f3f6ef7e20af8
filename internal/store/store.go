// Package store keeps one workspace's entities in memory, behind tables that
// are written through to a database.
//
// Each workspace has its own in-memory database (go-memdb): readers take a
// snapshot and never wait; one writer at a time opens a Tx, changes tables
// through the generic Table[T] methods, and commits. Commit first hands every
// change of the transaction to the Persister as one database transaction, and
// only when that succeeds swaps the in-memory root, so a failed database write
// leaves memory exactly as it was and no reader ever sees state the database
// does not hold.
//
// Stored values are immutable: never modify an entity obtained from the
// store; copy it, change the copy, and Upsert the copy.
package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Schema is the untyped view of a Table that persistence layers use to write
// and load any entity kind the same way.
type Schema interface {
	// TableName is the SQL (and in-memory) table name.
	TableName() string
	// IsDerived reports whether the table is rebuilt on load instead of stored.
	IsDerived() bool
	// KeyOf returns the key of an entity of this table.
	KeyOf(obj any) string
	// ColumnNames lists the extra SQL columns, in the order of ColumnValues.
	ColumnNames() []string
	// ColumnValues returns the extra column values of an entity.
	ColumnValues(obj any) []any
	// Encode returns the entity's JSON document.
	Encode(obj any) ([]byte, error)
	// Decode reads a JSON document written by Encode.
	Decode(data []byte) (any, error)
	memSchema() *memdb.TableSchema
}

// Change is one net change of a committed transaction: After is nil for a
// removal.
type Change struct {
	Table  Schema
	Key    string
	Before any
	After  any
}

// Batch is everything one transaction changed in one workspace.
type Batch struct {
	WorkspaceID string
	Changes     []Change
}

// Persister writes a batch durably. Persist must write all of it in one
// database transaction or nothing, and return an error in the second case.
type Persister interface {
	Persist(ctx context.Context, b Batch) error
}

// Option configures a Store.
type Option func(*Store)

// WithPersister writes every committed transaction through p before it
// becomes visible in memory (the hybrid store). Without it the store keeps
// nothing beyond the process (the memory store).
func WithPersister(p Persister) Option { return func(s *Store) { s.persister = p } }

// WithClock sets the clock that fixes each transaction's Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithTracer sets the tracer for store spans (the global provider otherwise).
func WithTracer(t trace.Tracer) Option { return func(s *Store) { s.tracer = t } }

// Store is one workspace's state. Reads are safe from any goroutine; writes
// are serialised by the Store (one write Tx at a time).
type Store struct {
	workspaceID string
	db          *memdb.MemDB
	persister   Persister
	now         func() time.Time
	tracer      trace.Tracer
	writer      sync.Mutex
}

// New returns an empty store for one workspace.
func New(workspaceID string, opts ...Option) (*Store, error) {
	db, err := memdb.NewMemDB(memSchema())
	if err != nil {
		return nil, fmt.Errorf("store schema: %w", err)
	}
	s := &Store{workspaceID: workspaceID, db: db, now: time.Now, tracer: otel.Tracer("gatehouse/store")}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// WorkspaceID returns the workspace the store holds.
func (s *Store) WorkspaceID() string { return s.workspaceID }

// Reader is a consistent view of a store: a Snapshot or a Tx.
type Reader interface {
	memTxn() *memdb.Txn
}

// Snapshot is a read-only, consistent view of the store at one moment.
type Snapshot struct{ txn *memdb.Txn }

func (s Snapshot) memTxn() *memdb.Txn { return s.txn }

// Snapshot returns a view of the committed state; it never blocks.
func (s *Store) Snapshot() Snapshot { return Snapshot{txn: s.db.Txn(false)} }

// Tx is a write transaction. Changes made through it are visible to it at
// once and to everyone else only after Commit succeeds. A Tx is used by one
// goroutine.
type Tx struct {
	store *Store
	txn   *memdb.Txn
	ctx   context.Context
	now   time.Time
	done  bool
}

func (tx *Tx) memTxn() *memdb.Txn { return tx.txn }

// Begin opens the write transaction, waiting for any other writer to finish.
// Every Begin must be followed by Commit or Abort (defer Abort is safe).
func (s *Store) Begin(ctx context.Context) *Tx {
	s.writer.Lock()
	txn := s.db.Txn(true)
	txn.TrackChanges()
	return &Tx{store: s, txn: txn, ctx: ctx, now: s.now().UTC()}
}

// Now returns the time fixed when the transaction began.
func (tx *Tx) Now() time.Time { return tx.now }

// Context returns the context the transaction was opened with.
func (tx *Tx) Context() context.Context { return tx.ctx }

// WorkspaceID returns the workspace being written.
func (tx *Tx) WorkspaceID() string { return tx.store.workspaceID }

// Changes returns the net changes made so far, in the order of their last
// write.
func (tx *Tx) Changes() []Change {
	mc := tx.txn.Changes()
	out := make([]Change, 0, len(mc))
	for _, c := range mc {
		t := tableByName[c.Table]
		obj := c.After
		if obj == nil {
			obj = c.Before
		}
		out = append(out, Change{Table: t, Key: t.KeyOf(obj), Before: c.Before, After: c.After})
	}
	return out
}

// Commit makes the transaction's changes durable (when the store has a
// persister) and then visible. On error nothing is applied, in memory or in
// the database, and the transaction is closed.
func (tx *Tx) Commit() error {
	if tx.done {
		return fmt.Errorf("commit: transaction already closed")
	}
	defer tx.close()
	if p := tx.store.persister; p != nil {
		var durable []Change
		for _, c := range tx.Changes() {
			if !c.Table.IsDerived() {
				durable = append(durable, c)
			}
		}
		if len(durable) > 0 {
			ctx, span := tx.store.tracer.Start(tx.ctx, "store.Commit",
				trace.WithAttributes(attribute.String("workspace.id", tx.store.workspaceID),
					attribute.Int("changes", len(durable))))
			err := p.Persist(ctx, Batch{WorkspaceID: tx.store.workspaceID, Changes: durable})
			endSpan(span, err)
			if err != nil {
				tx.txn.Abort()
				return fmt.Errorf("commit: %w", err)
			}
		}
	}
	tx.txn.Commit()
	return nil
}

// Abort discards the transaction's changes. It is a no-op after Commit.
func (tx *Tx) Abort() {
	if tx.done {
		return
	}
	tx.txn.Abort()
	tx.close()
}

func (tx *Tx) close() {
	tx.done = true
	tx.store.writer.Unlock()
}

func (tx *Tx) startSpan(name, id string) (context.Context, trace.Span) {
	return tx.store.tracer.Start(tx.ctx, name, trace.WithAttributes(
		attribute.String("workspace.id", tx.store.workspaceID), attribute.String("entity.id", id)))
}

// Load inserts entities read from the database into an empty store without
// writing them back. It is how a workspace is restored on start.
func (s *Store) Load(fn func(put func(table Schema, obj any) error) error) error {
	s.writer.Lock()
	defer s.writer.Unlock()
	txn := s.db.Txn(true)
	put := func(t Schema, obj any) error {
		if err := txn.Insert(t.TableName(), obj); err != nil {
			return fmt.Errorf("load %s: %w", t.TableName(), err)
		}
		return nil
	}
	if err := fn(put); err != nil {
		txn.Abort()
		return err
	}
	txn.Commit()
	return nil
}

// ErrNotFound is model.ErrNotFound, re-exported for callers of the store.
var ErrNotFound = model.ErrNotFound
