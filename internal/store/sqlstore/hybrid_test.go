package sqlstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestStore_Hybrid runs the store suite on memory written through to each
// database, and then checks that what the database holds, loaded into an
// empty store, equals what memory holds.
func TestStore_Hybrid(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			var stores []*store.Store
			storetest.Exercise(t, func(t *testing.T) *store.Store {
				s, err := store.New(storetest.ID(), store.WithPersister(db))
				if err != nil {
					t.Fatal(err)
				}
				stores = append(stores, s)
				return s
			})
			for _, s := range stores {
				loaded, _ := store.New(s.WorkspaceID())
				if _, err := db.LoadWorkspace(context.Background(), s.WorkspaceID(), loaded); err != nil {
					t.Fatal(err)
				}
				for _, table := range store.Tables {
					if table.IsDerived() {
						continue
					}
					if got, want := tableJSON(t, loaded, table), tableJSON(t, s, table); got != want {
						t.Fatalf("%s: the database holds\n%s\nbut memory holds\n%s", table.TableName(), got, want)
					}
				}
			}
		})
	}
}

// tableJSON returns every row of one table as JSON, keyed and in key order.
func tableJSON(t *testing.T, s *store.Store, table store.Schema) string {
	t.Helper()
	rows := map[string]json.RawMessage{}
	for key, obj := range store.Rows(s.Snapshot(), table) {
		raw, err := table.Encode(obj)
		if err != nil {
			t.Fatal(err)
		}
		rows[key] = raw
	}
	out, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
