package store

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/go-memdb"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// idIndex is the name of every table's primary index.
const idIndex = "id"

// Table describes one entity kind: how it is keyed, which secondary indexes
// it has and whether it is written to the database. One generic Table serves
// every kind; callers never see index names or untyped values.
type Table[T any] struct {
	// Name is the in-memory table name and the SQL table name.
	Name string
	// Kind names the entity in spans ("store.UpsertResource") and errors.
	Kind string
	// Key returns an entity's identity within its workspace.
	Key func(*T) string
	// Indexes are the secondary indexes, each a function of the entity.
	Indexes []Index[T]
	// Columns are the values that get SQL columns of their own (besides the
	// workspace, the key and the JSON document).
	Columns []Column[T]
	// Derived tables (release targets, selector matches) are rebuilt from the
	// others on load and never written to the database.
	Derived bool
}

// Index is a secondary index: Values returns the index keys of an entity
// (none means the entity is not in the index).
type Index[T any] struct {
	Name   string
	Values func(*T) []string
}

// Column is one SQL column of a durable table besides its key and document.
type Column[T any] struct {
	Name  string
	Value func(*T) any
}

// Lookup is a typed query on one secondary index of one table.
type Lookup[T any] struct {
	table *Table[T]
	index string
}

// Lookup returns the typed query over the named index. It panics when the
// table has no such index, which is a programming error found at start-up
// because lookups are package-level variables.
func (t *Table[T]) Lookup(index string) Lookup[T] {
	for _, ix := range t.Indexes {
		if ix.Name == index {
			return Lookup[T]{table: t, index: index}
		}
	}
	panic(fmt.Sprintf("store: table %s has no index %s", t.Name, index))
}

// Get returns the entities whose index value equals value, in key order.
func (l Lookup[T]) Get(r Reader, value string) []*T {
	return l.table.collect(r.memTxn(), l.index, value)
}

// First returns one entity whose index value equals value, or ErrNotFound.
func (l Lookup[T]) First(r Reader, value string) (*T, error) {
	obj, err := r.memTxn().First(l.table.Name, l.index, value)
	if err != nil {
		return nil, fmt.Errorf("lookup %s by %s: %w", l.table.Kind, l.index, err)
	}
	if obj == nil {
		return nil, model.ErrNotFound
	}
	return obj.(*T), nil
}

// Count returns how many entities have the index value.
func (l Lookup[T]) Count(r Reader, value string) int {
	it, err := r.memTxn().Get(l.table.Name, l.index, value)
	if err != nil {
		return 0
	}
	n := 0
	for obj := it.Next(); obj != nil; obj = it.Next() {
		n++
	}
	return n
}

// Get returns the entity with the given key, or an error wrapping
// model.ErrNotFound. The returned value must not be modified.
func (t *Table[T]) Get(r Reader, id string) (*T, error) {
	obj, err := r.memTxn().First(t.Name, idIndex, id)
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", t.Kind, id, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%s %s: %w", t.Kind, id, model.ErrNotFound)
	}
	return obj.(*T), nil
}

// Has reports whether an entity with the key exists.
func (t *Table[T]) Has(r Reader, id string) bool {
	obj, err := r.memTxn().First(t.Name, idIndex, id)
	return err == nil && obj != nil
}

// Items returns every entity of the table in key order. The returned values
// must not be modified.
func (t *Table[T]) Items(r Reader) []*T {
	return t.collect(r.memTxn(), idIndex)
}

// Count returns the number of entities in the table.
func (t *Table[T]) Count(r Reader) int {
	it, err := r.memTxn().Get(t.Name, idIndex)
	if err != nil {
		return 0
	}
	n := 0
	for obj := it.Next(); obj != nil; obj = it.Next() {
		n++
	}
	return n
}

func (t *Table[T]) collect(txn *memdb.Txn, index string, args ...any) []*T {
	it, err := txn.Get(t.Name, index, args...)
	if err != nil {
		// Only an unknown table or index errors here: a schema bug.
		panic(fmt.Sprintf("store: %s.%s: %v", t.Name, index, err))
	}
	var out []*T
	for obj := it.Next(); obj != nil; obj = it.Next() {
		out = append(out, obj.(*T))
	}
	return out
}

// Upsert stores v under id, replacing any previous version. id must equal
// the entity's own key. The value must not be modified after the call.
// Nothing is recorded unless the write succeeds; the change becomes durable
// and visible only when tx commits.
func (t *Table[T]) Upsert(tx *Tx, id string, v *T) (err error) {
	_, span := tx.startSpan("store.Upsert"+t.Kind, id)
	defer func() { endSpan(span, err) }()
	if v == nil {
		return model.Errorf(model.EINVALID, "upsert %s %s: no entity", t.Kind, id)
	}
	if key := t.Key(v); key != id {
		return model.Errorf(model.EINVALID, "upsert %s: id %q does not match the entity's id %q", t.Kind, id, key)
	}
	if id == "" {
		return model.Errorf(model.EINVALID, "upsert %s: empty id", t.Kind)
	}
	if err := tx.txn.Insert(t.Name, v); err != nil {
		return fmt.Errorf("upsert %s %s: %w", t.Kind, id, err)
	}
	return nil
}

// Remove deletes the entity with the given key; removing a missing entity
// returns an error wrapping model.ErrNotFound.
func (t *Table[T]) Remove(tx *Tx, id string) (err error) {
	_, span := tx.startSpan("store.Remove"+t.Kind, id)
	defer func() { endSpan(span, err) }()
	obj, err := tx.txn.First(t.Name, idIndex, id)
	if err != nil {
		return fmt.Errorf("remove %s %s: %w", t.Kind, id, err)
	}
	if obj == nil {
		return fmt.Errorf("remove %s %s: %w", t.Kind, id, model.ErrNotFound)
	}
	if err := tx.txn.Delete(t.Name, obj); err != nil {
		return fmt.Errorf("remove %s %s: %w", t.Kind, id, err)
	}
	return nil
}

// TableName implements Schema.
func (t *Table[T]) TableName() string { return t.Name }

// IsDerived implements Schema.
func (t *Table[T]) IsDerived() bool { return t.Derived }

// KeyOf implements Schema.
func (t *Table[T]) KeyOf(obj any) string { return t.Key(obj.(*T)) }

// ColumnNames implements Schema.
func (t *Table[T]) ColumnNames() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// ColumnValues implements Schema.
func (t *Table[T]) ColumnValues(obj any) []any {
	v := obj.(*T)
	vals := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		vals[i] = c.Value(v)
	}
	return vals
}

// Encode implements Schema.
func (t *Table[T]) Encode(obj any) ([]byte, error) { return json.Marshal(obj.(*T)) }

// Decode implements Schema.
func (t *Table[T]) Decode(data []byte) (any, error) {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", t.Kind, err)
	}
	return v, nil
}

func (t *Table[T]) memSchema() *memdb.TableSchema {
	ts := &memdb.TableSchema{Name: t.Name, Indexes: map[string]*memdb.IndexSchema{
		idIndex: {Name: idIndex, Unique: true, Indexer: keyIndexer[T]{key: t.Key}},
	}}
	for _, ix := range t.Indexes {
		ts.Indexes[ix.Name] = &memdb.IndexSchema{Name: ix.Name, AllowMissing: true,
			Indexer: multiIndexer[T]{values: ix.Values}}
	}
	return ts
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
