// Package sqltest gives tests fresh, migrated databases of every dialect, so
// that one test suite runs against SQLite and PostgreSQL alike.
//
// SQLite databases live in t.TempDir(). PostgreSQL needs a server: set
// GATEHOUSE_TEST_POSTGRES to a URL whose user may create databases (for
// example postgres://postgres@127.0.0.1:5432/test?sslmode=disable); each
// test then gets a scratch database gh_test_<random>, dropped when it ends.
// Without the variable PostgreSQL tests are skipped, unless
// GATEHOUSE_REQUIRE_POSTGRES=1 makes that a failure (for CI).
package sqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// Environment variables read by this package.
const (
	// EnvPostgres is the URL of a PostgreSQL server for tests.
	EnvPostgres = "GATEHOUSE_TEST_POSTGRES"
	// EnvRequirePostgres, set to 1, fails PostgreSQL tests instead of
	// skipping them when EnvPostgres is unset.
	EnvRequirePostgres = "GATEHOUSE_REQUIRE_POSTGRES"
)

// Dialects returns the dialects a suite should run as subtests: always both,
// so that a skipped PostgreSQL run shows in the test output. It fails t at
// once when PostgreSQL is required but not configured.
func Dialects(t testing.TB) []string {
	t.Helper()
	if os.Getenv(EnvPostgres) == "" && os.Getenv(EnvRequirePostgres) == "1" {
		t.Fatalf("%s=1 but %s is not set", EnvRequirePostgres, EnvPostgres)
	}
	return []string{sqlstore.DialectSQLite, sqlstore.DialectPostgres}
}

// DSN returns the DSN of a fresh, empty database of the dialect, removed when
// the test ends. For PostgreSQL it skips t when EnvPostgres is unset (fails
// it when EnvRequirePostgres=1).
func DSN(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case sqlstore.DialectSQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
	case sqlstore.DialectPostgres:
		return postgresDSN(t)
	}
	t.Fatalf("sqltest: unknown dialect %q", dialect)
	return ""
}

// Open returns a fresh, migrated database of the dialect, closed when the
// test ends. See DSN for when PostgreSQL tests are skipped.
func Open(t testing.TB, dialect string, opts ...sqlstore.Option) *sqlstore.DB {
	t.Helper()
	dsn := DSN(t, dialect)
	db, err := sqlstore.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatalf("sqltest: open %s: %v", dialect, err)
	}
	// Registered after DSN's cleanup, so it runs first: the database is
	// closed before it is dropped.
	t.Cleanup(db.Close)
	return db
}

func postgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("%s=1 but %s is not set", EnvRequirePostgres, EnvPostgres)
		}
		t.Skip(EnvPostgres + " not set; skipping PostgreSQL")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("sqltest: %s must be a postgres:// URL", EnvPostgres)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "gh_test_" + hex.EncodeToString(b[:])

	admin(t, base, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		// FORCE ends sessions a failed test may have left open.
		admin(t, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the server's base database.
func admin(t testing.TB, dsn, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("sqltest: connect to %s: %v", EnvPostgres, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("sqltest: %s: %v", stmt, err)
	}
}
