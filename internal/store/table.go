package store

import (
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

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
	// Derived tables (release targets, target states) are rebuilt from the
	// others on load and never written to the database.
	Derived bool
	// Stored, when set, gives the form an entity is written to the
	// database in: the entity with what other tables already hold left
	// out. FromStored reads that form back and Linked puts back what was
	// left out, after a load.
	Stored func(*T) any
	// FromStored, when set, decodes a row's document written by Stored.
	FromStored func(data []byte) (*T, error)
	// Linked completes an entity read from the database with what Stored
	// left out, reading other (already loaded) tables.
	Linked func(r Reader, v *T) *T
}

// Index is a secondary index. Value gives the one index key of an entity
// ("" means the entity is not in the index); Values, for an index that can
// hold an entity under several keys, gives them all. Exactly one is set.
type Index[T any] struct {
	Name   string
	Value  func(*T) string
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
// The returned values must not be modified.
func (l Lookup[T]) Get(r Reader, value string) []*T {
	v, done := r.view()
	defer done()
	return l.table.collect(v, v.keys(l.table.Name, l.index, value))
}

// First returns the entity with the smallest key whose index value equals
// value, or ErrNotFound.
func (l Lookup[T]) First(r Reader, value string) (*T, error) {
	v, done := r.view()
	defer done()
	key, ok := v.firstKey(l.table.Name, l.index, value)
	if !ok {
		return nil, model.ErrNotFound
	}
	obj, _ := v.get(l.table.Name, key)
	return obj.(*T), nil
}

// Count returns how many entities have the index value.
func (l Lookup[T]) Count(r Reader, value string) int {
	v, done := r.view()
	defer done()
	return v.count(l.table.Name, l.index, value)
}

// Get returns the entity with the given key, or an error wrapping
// model.ErrNotFound. The returned value must not be modified.
func (t *Table[T]) Get(r Reader, id string) (*T, error) {
	v, done := r.view()
	defer done()
	obj, ok := v.get(t.Name, id)
	if !ok {
		return nil, &notFound{kind: t.Kind, id: id}
	}
	return obj.(*T), nil
}

// notFound is Get's error. Planning asks for many entities that may not
// exist (a target's release, a resource's variables), so the message is
// built only when someone reads it.
type notFound struct{ kind, id string }

func (e *notFound) Error() string { return e.kind + " " + e.id + ": " + model.ErrNotFound.Error() }
func (e *notFound) Unwrap() error { return model.ErrNotFound }

// Has reports whether an entity with the key exists.
func (t *Table[T]) Has(r Reader, id string) bool {
	v, done := r.view()
	defer done()
	_, ok := v.get(t.Name, id)
	return ok
}

// Items returns every entity of the table in key order. The returned values
// must not be modified.
func (t *Table[T]) Items(r Reader) []*T {
	v, done := r.view()
	defer done()
	return t.collect(v, v.keys(t.Name, "", ""))
}

// Count returns the number of entities in the table.
func (t *Table[T]) Count(r Reader) int {
	v, done := r.view()
	defer done()
	if v.over == nil || v.over.tables[t.Name] == nil {
		return len(v.base.tables[t.Name].byKey)
	}
	return v.count(t.Name, "", "")
}

func (t *Table[T]) collect(v view, keys []string) []*T {
	out := make([]*T, 0, len(keys))
	for _, k := range keys {
		if obj, ok := v.get(t.Name, k); ok {
			out = append(out, obj.(*T))
		}
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
	if err := tx.writable(); err != nil {
		return err
	}
	if v == nil {
		return model.Errorf(model.EINVALID, "upsert %s %s: no entity", t.Kind, id)
	}
	if id == "" {
		return model.Errorf(model.EINVALID, "upsert %s: empty id", t.Kind)
	}
	if key := t.Key(v); key != id {
		return model.Errorf(model.EINVALID, "upsert %s: id %q does not match the entity's id %q", t.Kind, id, key)
	}
	tx.write(t, id, v)
	return nil
}

// Remove deletes the entity with the given key; removing a missing entity
// returns an error wrapping model.ErrNotFound.
func (t *Table[T]) Remove(tx *Tx, id string) (err error) {
	_, span := tx.startSpan("store.Remove"+t.Kind, id)
	defer func() { endSpan(span, err) }()
	if err := tx.writable(); err != nil {
		return err
	}
	if !t.Has(tx, id) {
		return fmt.Errorf("remove %s %s: %w", t.Kind, id, model.ErrNotFound)
	}
	tx.write(t, id, nil)
	return nil
}

// Clear removes every row of t in tx, durable or derived: how a workspace
// is deleted. Like every write it becomes durable and visible only when tx
// commits.
func Clear(tx *Tx, t Schema) error {
	if err := tx.writable(); err != nil {
		return err
	}
	v, done := tx.view()
	keys := v.keys(t.TableName(), "", "")
	done()
	for _, k := range keys {
		tx.write(t, k, nil)
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
func (t *Table[T]) Encode(obj any) ([]byte, error) {
	v := obj.(*T)
	if t.Stored != nil {
		return json.Marshal(t.Stored(v))
	}
	return json.Marshal(v)
}

// link implements Schema.
func (t *Table[T]) link(r Reader, obj any) any {
	if t.Linked == nil {
		return obj
	}
	return t.Linked(r, obj.(*T))
}

// Decode implements Schema.
func (t *Table[T]) Decode(data []byte) (any, error) {
	if t.FromStored != nil {
		v, err := t.FromStored(data)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", t.Kind, err)
		}
		return v, nil
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", t.Kind, err)
	}
	return v, nil
}

// eachIndex calls fn with every index key of an entity. It allocates
// nothing for single-valued indexes: it runs for every row written.
func (t *Table[T]) eachIndex(obj any, fn func(index, value string)) {
	if len(t.Indexes) == 0 {
		return
	}
	v := obj.(*T)
	for i := range t.Indexes {
		ix := &t.Indexes[i]
		if ix.Value != nil {
			if key := ix.Value(v); key != "" {
				fn(ix.Name, key)
			}
			continue
		}
		for _, key := range ix.Values(v) {
			fn(ix.Name, key)
		}
	}
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
