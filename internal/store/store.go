// Package store keeps one workspace's entities in memory, behind tables that
// are written through to a database.
//
// Each workspace has its own in-memory state (see memory.go): one writer at
// a time opens a Tx, changes tables through the generic Table[T] methods, and
// commits. Commit first hands every change of the transaction to the
// Persister as one database transaction, and only when that succeeds folds
// the changes into what readers see, so a failed database write leaves
// memory exactly as it was and no reader ever sees state the database does
// not hold.
//
// Stored values are immutable: never modify an entity obtained from the
// store; copy it, change the copy, and Upsert the copy.
package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

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
	eachIndex(obj any, fn func(index, value string))
	link(r Reader, obj any) any
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
	// Lease, when set, is the ownership the batch is written under: the
	// Persister checks in the same transaction that it is still the
	// workspace's current lease, and fails with ErrFenced otherwise.
	Lease *Lease
}

// Lease is a process's ownership of a workspace: who holds it and the
// epoch it was taken at. Every taking of a workspace raises its epoch, so a
// commit carrying an older epoch comes from a process that lost the
// workspace (a fencing token).
type Lease struct {
	Owner string
	Epoch int64
}

// ErrFenced is in the chain of a commit refused because its lease is no
// longer the workspace's (another process took the workspace, or the lease
// ran out): nothing of it was written. It is EUNAVAILABLE.
var ErrFenced = &model.Error{Code: model.EUNAVAILABLE,
	Message: "this process no longer owns the workspace (its lease was lost); retry, and the owner will answer"}

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
	state       *committed
	persister   Persister
	now         func() time.Time
	tracer      trace.Tracer
	writer      sync.Mutex
}

// New returns an empty store for one workspace.
func New(workspaceID string, opts ...Option) (*Store, error) {
	s := &Store{workspaceID: workspaceID, state: newCommitted(), now: time.Now, tracer: otel.Tracer("gatehouse/store")}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// WorkspaceID returns the workspace the store holds.
func (s *Store) WorkspaceID() string { return s.workspaceID }

// Reader is a view of a store: a Snapshot or a Tx.
type Reader interface {
	// view returns the state to read and a function that ends the read.
	view() (view, func())
}

// Snapshot reads the committed state. Each read sees a committed state in
// full (never part of a commit); two reads of a Snapshot from Store.Snapshot
// may see two successive commits, the reads of one from Store.Read all see
// the same.
type Snapshot struct {
	state *committed
	// held is set for a Snapshot from Read, which holds the read lock
	// itself.
	held bool
}

func (s Snapshot) view() (view, func()) {
	if s.held {
		return view{base: s.state}, noop
	}
	s.state.mu.RLock()
	return view{base: s.state}, s.state.mu.RUnlock
}

// Snapshot returns a reader of the committed state. A read waits only while
// a commit folds its changes in.
func (s *Store) Snapshot() Snapshot { return Snapshot{state: s.state} }

// Read returns a reader whose reads all see one committed state, and the
// function that ends it, which must be called (defer it). Until then
// commits wait before folding their changes in, so a reader must not keep
// it longer than one request's reads, and must not start a write or take
// another Snapshot's reads in between (a waiting commit would block them).
func (s *Store) Read() (Snapshot, func()) {
	s.state.mu.RLock()
	var once sync.Once
	return Snapshot{state: s.state, held: true}, func() { once.Do(s.state.mu.RUnlock) }
}

// Tx is a write transaction. Changes made through it are visible to it at
// once and to everyone else only after Commit succeeds. A Tx is written by
// one goroutine; concurrent reads of it are safe while nobody writes.
type Tx struct {
	store *Store
	over  *overlay
	ctx   context.Context
	now   time.Time
	done  bool
	// lease is carried by the transaction's batch (see SetLease).
	lease *Lease
	// committed are the changes of a successful Commit.
	committed []Change
}

// SetLease makes the transaction commit under l: its batch carries l, and
// the persister refuses it with ErrFenced unless l is still the workspace's
// lease.
func (tx *Tx) SetLease(l Lease) { tx.lease = &l }

func noop() {}

// view reads the transaction's overlay over the committed state. It needs no
// lock: only this transaction's commit changes the committed state, and the
// store's writer lock keeps every other writer out.
func (tx *Tx) view() (view, func()) { return view{base: tx.store.state, over: tx.over}, noop }

// Begin opens the write transaction, waiting for any other writer to finish.
// Every Begin must be followed by Commit or Abort (defer Abort is safe).
func (s *Store) Begin(ctx context.Context) *Tx {
	s.writer.Lock()
	return &Tx{store: s, over: &overlay{}, ctx: ctx, now: s.now().UTC()}
}

// Now returns the time fixed when the transaction began.
func (tx *Tx) Now() time.Time { return tx.now }

// Context returns the transaction's context: the one it was opened with,
// or the one SetContext gave it.
func (tx *Tx) Context() context.Context { return tx.ctx }

// SetContext makes ctx the transaction's context, the parent of the spans
// of its writes and its commit, until the returned function puts the
// previous one back. It lets one transaction's writes be traced under the
// unit of work (an event of a batch, a reconciliation) that made them.
func (tx *Tx) SetContext(ctx context.Context) (restore func()) {
	prev := tx.ctx
	tx.ctx = ctx
	return func() { tx.ctx = prev }
}

// WorkspaceID returns the workspace being written.
func (tx *Tx) WorkspaceID() string { return tx.store.workspaceID }

func (tx *Tx) writable() error {
	if tx.done {
		return fmt.Errorf("write: transaction already closed")
	}
	return nil
}

// write records obj (nil to remove) under key in the overlay.
func (tx *Tx) write(t Schema, key string, obj any) {
	ot := tx.over.table(t.TableName())
	if tx.over.saving {
		prevSeq, touched := ot.touched[key]
		tx.over.undo = append(tx.over.undo, undoEntry{table: t, key: key, touched: touched, seq: prevSeq, obj: ot.rows.byKey[key]})
	}
	ot.rows.put(t, key, obj)
	tx.over.seq++
	ot.touched[key] = tx.over.seq
}

// Savepoint marks the transaction's state so that RollbackTo can return to
// it. Several events of one batch share one transaction (and one database
// commit) this way while each stays all-or-nothing.
type Savepoint int

// Savepoint returns a mark of the transaction's current state.
func (tx *Tx) Savepoint() Savepoint {
	tx.over.saving = true
	return Savepoint(len(tx.over.undo))
}

// RollbackTo undoes every write made since sp.
func (tx *Tx) RollbackTo(sp Savepoint) {
	for i := len(tx.over.undo) - 1; i >= int(sp); i-- {
		e := tx.over.undo[i]
		ot := tx.over.table(e.table.TableName())
		ot.rows.put(e.table, e.key, e.obj)
		if e.touched {
			ot.touched[e.key] = e.seq
		} else {
			delete(ot.touched, e.key)
		}
	}
	tx.over.undo = tx.over.undo[:sp]
}

// Changes returns the net changes made so far, in the order of their last
// write. A row created and removed in the same transaction is no change.
func (tx *Tx) Changes() []Change {
	type seqChange struct {
		seq int
		c   Change
	}
	n := 0
	for _, ot := range tx.over.tables {
		n += len(ot.touched)
	}
	all := make([]seqChange, 0, n)
	for name, ot := range tx.over.tables {
		t := tableByName[name]
		base := tx.store.state.tables[name].byKey
		for key, seq := range ot.touched {
			before := base[key]
			after := ot.rows.byKey[key]
			if before == nil && after == nil {
				continue
			}
			all = append(all, seqChange{seq, Change{Table: t, Key: key, Before: before, After: after}})
		}
	}
	slices.SortFunc(all, func(a, b seqChange) int { return a.seq - b.seq })
	out := make([]Change, len(all))
	for i, sc := range all {
		out[i] = sc.c
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
	changes := tx.Changes()
	if p := tx.store.persister; p != nil {
		var durable []Change
		for _, c := range changes {
			if !c.Table.IsDerived() {
				durable = append(durable, c)
			}
		}
		if len(durable) > 0 {
			ctx, span := tx.store.tracer.Start(tx.ctx, "store.Commit",
				trace.WithAttributes(attribute.String("workspace.id", tx.store.workspaceID),
					attribute.Int("changes", len(durable))))
			err := p.Persist(ctx, Batch{WorkspaceID: tx.store.workspaceID, Changes: durable, Lease: tx.lease})
			endSpan(span, err)
			if err != nil {
				return fmt.Errorf("commit: %w", err)
			}
		}
	}
	state := tx.store.state
	state.mu.Lock()
	defer state.mu.Unlock()
	adopted := map[string]bool{}
	for name, ot := range tx.over.tables {
		// An empty committed table takes the overlay's rows and indexes as
		// they are (a restore, or the first large batch): no removals means
		// the overlay holds exactly the new content.
		if len(state.tables[name].byKey) == 0 && len(ot.rows.byKey) == len(ot.touched) {
			state.tables[name] = ot.rows
			adopted[name] = true
		}
	}
	for _, c := range changes {
		if !adopted[c.Table.TableName()] {
			state.tables[c.Table.TableName()].put(c.Table, c.Key, c.After)
		}
	}
	tx.committed = changes
	return nil
}

// Committed returns the net changes of a successful Commit (nil before,
// or after a failed one), for side effects that follow a commit.
func (tx *Tx) Committed() []Change { return tx.committed }

// Abort discards the transaction's changes. It is a no-op after Commit.
func (tx *Tx) Abort() {
	if tx.done {
		return
	}
	tx.close()
}

func (tx *Tx) close() {
	tx.done = true
	tx.over = &overlay{}
	tx.store.writer.Unlock()
}

func (tx *Tx) startSpan(name, id string) (context.Context, trace.Span) {
	// A write is traced only as a child of a recorded span (an event, a
	// reconcile): alone it would be a root trace of its own, and a
	// fan-out makes a million of them.
	parent := trace.SpanFromContext(tx.ctx)
	if !parent.IsRecording() {
		return tx.ctx, parent
	}
	ctx, span := tx.store.tracer.Start(tx.ctx, name)
	// Attributes are built only for a span that is recorded: store writes
	// are the hottest path and tracing is off by default.
	if span.IsRecording() {
		span.SetAttributes(attribute.String("workspace.id", tx.store.workspaceID), attribute.String("entity.id", id))
	}
	return ctx, span
}

// ErrNotFound is model.ErrNotFound, re-exported for callers of the store.
var ErrNotFound = model.ErrNotFound

// Rows returns every row of a table by key, untyped, for code that handles
// all tables alike (dumps, comparisons). Typed code uses Table[T].Items.
func Rows(r Reader, t Schema) map[string]any {
	v, done := r.view()
	defer done()
	out := map[string]any{}
	for _, k := range v.keys(t.TableName(), "", "") {
		if obj, ok := v.get(t.TableName(), k); ok {
			out[k] = obj
		}
	}
	return out
}
