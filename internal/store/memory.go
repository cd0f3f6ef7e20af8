package store

import (
	"slices"
	"sync"
)

// The in-memory state of a workspace is kept in plain maps with secondary
// indexes, in two layers:
//
//   - the committed layer, shared by every reader, changed only by a commit
//     while it holds the write lock;
//   - one overlay per write transaction, holding the rows it changed and
//     their index entries. Reads inside the transaction merge the overlay
//     over the committed layer, so a transaction sees its own writes and
//     nobody else does.
//
// A commit writes the overlay's net changes to the database first and only
// then folds them into the committed layer, under the lock for the few
// microseconds that takes per row. A failed database write discards the
// overlay and the committed layer was never touched.
//
// go-memdb (immutable radix trees) was measured first: every read inside a
// write transaction resets its node cache, so the interleaved reads and
// writes of target maintenance cost 7-30 µs per row and dominated every
// benchmark. Maps cost well under a microsecond.

// rows is one table's rows with their secondary indexes:
// index name -> index value -> set of keys.
type rows struct {
	byKey   map[string]any
	indexes map[string]map[string]*keySet
}

func newRows() *rows {
	return &rows{byKey: map[string]any{}, indexes: map[string]map[string]*keySet{}}
}

func (r *rows) addIndex(t Schema, key string, obj any) {
	t.eachIndex(obj, func(name, v string) {
		ix := r.indexes[name]
		if ix == nil {
			ix = map[string]*keySet{}
			r.indexes[name] = ix
		}
		set := ix[v]
		if set == nil {
			set = &keySet{}
			ix[v] = set
		}
		set.add(key)
	})
}

func (r *rows) removeIndex(t Schema, key string, obj any) {
	t.eachIndex(obj, func(name, v string) {
		ix := r.indexes[name]
		if set := ix[v]; set != nil {
			set.remove(key)
			if set.len() == 0 {
				delete(ix, v)
			}
		}
	})
}

// put stores obj under key, or removes the key when obj is nil.
func (r *rows) put(t Schema, key string, obj any) {
	if old, ok := r.byKey[key]; ok {
		r.removeIndex(t, key, old)
	}
	if obj == nil {
		delete(r.byKey, key)
		return
	}
	r.byKey[key] = obj
	r.addIndex(t, key, obj)
}

// committed is the state every reader sees.
type committed struct {
	mu     sync.RWMutex
	tables map[string]*rows
}

func newCommitted() *committed {
	c := &committed{tables: map[string]*rows{}}
	for _, t := range Tables {
		c.tables[t.TableName()] = newRows()
	}
	return c
}

// overlay is a write transaction's changes: per table, the rows it wrote
// (nil for a removal), their index entries and the order of last writes.
type overlay struct {
	tables map[string]*overlayTable
	seq    int
	// undo records what each write replaced, so that a savepoint can be
	// rolled back; nil until a savepoint is taken.
	undo []undoEntry
	// saving is true once a savepoint exists.
	saving bool
}

// undoEntry is the overlay's state of one key before one write.
type undoEntry struct {
	table   Schema
	key     string
	touched bool // the key was written before in this transaction
	seq     int
	obj     any // the overlay's row before the write (nil: none)
}

type overlayTable struct {
	rows    *rows          // written rows that exist (index entries included)
	touched map[string]int // every written key -> sequence of its last write
}

func (o *overlay) table(name string) *overlayTable {
	if o.tables == nil {
		o.tables = map[string]*overlayTable{}
	}
	ot := o.tables[name]
	if ot == nil {
		ot = &overlayTable{rows: newRows(), touched: map[string]int{}}
		o.tables[name] = ot
	}
	return ot
}

// view reads the committed layer, with an overlay over it when the reader
// is a write transaction. The committed layer's read lock is taken by the
// caller when the reader is not the writer.
type view struct {
	base *committed
	over *overlay
}

func (v view) get(table, key string) (any, bool) {
	if v.over != nil {
		if ot := v.over.tables[table]; ot != nil {
			if _, ok := ot.touched[key]; ok {
				obj, ok := ot.rows.byKey[key]
				return obj, ok
			}
		}
	}
	obj, ok := v.base.tables[table].byKey[key]
	return obj, ok
}

// keys returns the keys of the table, or of one index value when index is
// set, in sorted order.
func (v view) keys(table, index, value string) []string {
	out := v.unsortedKeys(table, index, value)
	slices.Sort(out)
	return out
}

// count is len(keys) without the sort.
func (v view) count(table, index, value string) int { return len(v.unsortedKeys(table, index, value)) }

func (v view) unsortedKeys(table, index, value string) []string {
	var base *keySet
	var baseAll map[string]any
	if index == "" {
		baseAll = v.base.tables[table].byKey
	} else {
		base = v.base.tables[table].indexes[index][value]
	}
	var ot *overlayTable
	if v.over != nil {
		ot = v.over.tables[table]
	}
	out := make([]string, 0, base.len()+len(baseAll))
	add := func(k string) {
		if ot != nil {
			if _, ok := ot.touched[k]; ok {
				return // the overlay decides for this key
			}
		}
		out = append(out, k)
	}
	base.each(add)
	for k := range baseAll {
		add(k)
	}
	if ot != nil {
		if index == "" {
			for k := range ot.rows.byKey {
				out = append(out, k)
			}
		} else {
			ot.rows.indexes[index][value].each(func(k string) { out = append(out, k) })
		}
	}
	return out
}

// indexValues lists the values of one index that the committed layer or
// the overlay holds keys under (some may have no keys left in the view).
func (v view) indexValues(table, index string) []string {
	base := v.base.tables[table].indexes[index]
	out := make([]string, 0, len(base))
	for value := range base {
		out = append(out, value)
	}
	if v.over != nil {
		if ot := v.over.tables[table]; ot != nil {
			for value := range ot.rows.indexes[index] {
				if _, ok := base[value]; !ok {
					out = append(out, value)
				}
			}
		}
	}
	return out
}

// firstKey is the smallest of keys(table, index, value), found without
// collecting and sorting them: unique indexes (a resource by identifier)
// are looked up on hot paths.
func (v view) firstKey(table, index, value string) (string, bool) {
	var ot *overlayTable
	if v.over != nil {
		ot = v.over.tables[table]
	}
	best, found := "", false
	consider := func(k string) {
		if !found || k < best {
			best, found = k, true
		}
	}
	v.base.tables[table].indexes[index][value].each(func(k string) {
		if ot != nil {
			if _, touched := ot.touched[k]; touched {
				return // the overlay decides for this key
			}
		}
		consider(k)
	})
	if ot != nil {
		ot.rows.indexes[index][value].each(consider)
	}
	return best, found
}
