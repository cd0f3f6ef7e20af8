package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// forEachDialect runs fn as one subtest per dialect.
func forEachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range sqltest.Dialects(t) {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// TestDB_Migrate checks that the migrations of each dialect build exactly
// the tables and columns store.Tables describes, so that schema and code
// cannot drift apart.
func TestDB_Migrate(t *testing.T) {
	ctx := context.Background()
	forEachDialect(t, func(t *testing.T, dialect string) {
		t.Run("tables match store.Tables", func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			want := []string{"gatehouse_meta", "goose_db_version", "kafka_partition", "workspace_lease"}
			for _, tbl := range store.Tables {
				if tbl.IsDerived() {
					continue
				}
				want = append(want, tbl.TableName())
				cols, err := db.TableColumns(ctx, tbl.TableName())
				if err != nil {
					t.Fatalf("columns of %s: %v", tbl.TableName(), err)
				}
				wantCols := append(append([]string{"workspace_id", "id"}, tbl.ColumnNames()...), "data")
				if !slices.Equal(cols, wantCols) {
					t.Errorf("table %s has columns %v, want %v", tbl.TableName(), cols, wantCols)
				}
			}
			got, err := db.TableNames(ctx)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("tables %v, want %v (derived tables are never stored)", got, want)
			}
		})
		if dialect == sqlstore.DialectPostgres {
			t.Run("documents are json", func(t *testing.T) {
				db := sqltest.Open(t, dialect)
				// Migration 00015 turned every jsonb document into json.
				other, err := db.QueryStrings(ctx, `SELECT table_name || ' ' || data_type FROM information_schema.columns
					WHERE table_schema = current_schema() AND column_name = 'data' AND data_type <> 'json'`)
				if err != nil {
					t.Fatal(err)
				}
				if len(other) > 0 {
					t.Errorf("data columns of another type than json: %v", other)
				}
			})
		}
		t.Run("migrate twice is a no-op", func(t *testing.T) {
			dsn := sqltest.DSN(t, dialect)
			for i := range 2 {
				if err := sqlstore.Migrate(ctx, dsn); err != nil {
					t.Fatalf("migrate #%d: %v", i+1, err)
				}
			}
			db, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Dialect() != dialect {
				t.Errorf("Dialect() = %q, want %q", db.Dialect(), dialect)
			}
			// goose writes one row for its table and one per applied
			// migration, named by the number its file starts with.
			versions, err := db.QueryStrings(ctx, "SELECT version_id FROM goose_db_version ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			files, err := os.ReadDir(filepath.Join("migrations", dialect))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"0"}
			for _, f := range files {
				n, _, _ := strings.Cut(f.Name(), "_")
				want = append(want, strings.TrimLeft(n, "0"))
			}
			if !slices.Equal(versions, want) {
				t.Errorf("goose versions %v, want %v", versions, want)
			}
		})
	})
}

// TestOpen_sqlitePragmas checks the per-connection settings sqlite.go
// explains.
func TestOpen_sqlitePragmas(t *testing.T) {
	db := sqltest.Open(t, sqlstore.DialectSQLite)
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1",
		"busy_timeout": "5000", "page_size": "32768", "cache_size": "-16384",
	} {
		got, err := db.QueryStrings(context.Background(), "PRAGMA "+pragma)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("PRAGMA %s = %v, want %s", pragma, got, want)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, dsn, code string
	}{
		{"unknown scheme", "mysql://root@localhost/x", model.EINVALID},
		{"empty sqlite path", "sqlite:", model.EINVALID},
		{"sqlite directory missing", "sqlite:" + t.TempDir() + "/missing/dir/x.db", model.EUNAVAILABLE},
		{"postgres refused", "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", model.EUNAVAILABLE},
		{"postgres malformed", "postgres://user:secret@[::1/x", model.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlstore.Open(ctx, tt.dsn)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if got := model.ErrorCode(err); got != tt.code {
				t.Errorf("code %q, want %q (err %v)", got, tt.code, err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
