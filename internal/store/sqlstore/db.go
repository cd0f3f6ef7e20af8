// Package sqlstore writes workspaces through to SQLite or PostgreSQL and
// loads them back.
//
// A DB implements store.Persister: every committed store transaction arrives
// as one Batch and is written as one SQL transaction, or not at all. Each
// durable store table has one SQL table keyed by (workspace_id, id), with real
// columns for the values that are filtered on or unique and the whole entity
// as a JSON document. Reads are served from memory; the database is read only
// when a workspace is loaded (Workspaces, LoadWorkspace).
//
// The SQL dialects differ only behind the small backend interface (sqlite.go,
// postgres.go): placeholders, value encodings, statement limits, how a
// transaction is run and how driver errors are translated into model errors.
// Schema changes are numbered goose migrations embedded per dialect and
// applied by Open.
package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Dialect names, as returned by (*DB).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DB is a database holding any number of workspaces. It is safe for
// concurrent use; on SQLite all statements share one connection, so callers
// take turns.
type DB struct {
	be     backend
	hook   func(n int) error
	tracer trace.Tracer

	// stmts caches built SQL text by shape, so that a batch of 20,000 rows
	// does not rebuild the same 200-row statement a hundred times.
	stmts sync.Map // stmtKey -> string
}

var _ store.Persister = (*DB)(nil)

// Option configures a DB.
type Option func(*DB)

// WithTracer sets the tracer for sqlstore spans (the global provider
// otherwise).
func WithTracer(t trace.Tracer) Option { return func(db *DB) { db.tracer = t } }

// WithStatementHook is for tests only: fault injection. hook is called before
// each data statement of Persist with the statement's 1-based ordinal within
// the batch (BEGIN and COMMIT are not counted); a non-nil return rolls the
// transaction back and Persist returns that error, wrapped. The hook must be
// safe for concurrent use when Persist is called concurrently.
func WithStatementHook(hook func(n int) error) Option { return func(db *DB) { db.hook = hook } }

// Open connects to the database named by dsn and applies pending migrations.
//
// dsn is "sqlite:PATH" (the file is created when missing) or a PostgreSQL URL
// ("postgres://..." or "postgresql://...", pgxpool parameters such as
// pool_max_conns accepted). An unknown form is EINVALID; a database that
// cannot be reached is EUNAVAILABLE.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	db := &DB{tracer: otel.Tracer("gatehouse/sqlstore")}
	for _, o := range opts {
		o(db)
	}
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		db.be, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db.be, err = openPostgres(ctx, dsn)
	default:
		// The DSN is not echoed: it may hold a password.
		return nil, model.Errorf(model.EINVALID, "database: want sqlite:PATH or postgres://..., got %q...", prefix(dsn))
	}
	if err != nil {
		return nil, err
	}
	if err := db.be.migrate(ctx, 0); err != nil {
		db.be.close()
		return nil, fmt.Errorf("migrate %s: %w", db.be.dialect(), db.be.translate(err))
	}
	return db, nil
}

// Migrate applies pending migrations to the database named by dsn (see Open)
// and closes it. Running it on an up-to-date database changes nothing.
func Migrate(ctx context.Context, dsn string) error {
	db, err := Open(ctx, dsn)
	if err != nil {
		return err
	}
	db.Close()
	return nil
}

// Close releases the connections. Calls in progress may fail with
// EUNAVAILABLE; the DB must not be used afterwards.
func (db *DB) Close() { db.be.close() }

// Dialect returns DialectSQLite or DialectPostgres.
func (db *DB) Dialect() string { return db.be.dialect() }

// prefix returns the scheme-like start of a DSN, for error messages.
func prefix(dsn string) string {
	if i := strings.IndexAny(dsn, ":/"); i >= 0 {
		return dsn[:i+1]
	}
	if len(dsn) > 8 {
		return dsn[:8]
	}
	return dsn
}
