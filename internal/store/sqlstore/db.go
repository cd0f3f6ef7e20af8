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
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// DefaultTimeout bounds every database call of a DB unless WithTimeout says
// otherwise.
const DefaultTimeout = 10 * time.Second

// ErrTimeout is in the chain of every error caused by a call that did not
// finish within the DB's timeout; such errors are EUNAVAILABLE.
var ErrTimeout = errors.New("no answer from the database")

// DB is a database holding any number of workspaces. It is safe for
// concurrent use; on SQLite all statements share one connection, so callers
// take turns.
type DB struct {
	be      backend
	hook    func(n int) error
	tracer  trace.Tracer
	metrics *commitMetrics
	timeout time.Duration

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

// WithTimeout bounds every call to the database: each Persist transaction,
// each query of a load, the write probe and Open's first connection. A call
// still running after d fails with EUNAVAILABLE wrapping ErrTimeout. On
// PostgreSQL d is also every session's statement_timeout and
// idle_in_transaction_session_timeout, so that the server gives up on the
// same schedule and releases the locks of a client that vanished (unless the
// DSN sets those parameters itself). Migrations are not bounded: they may
// legitimately run long. Zero or less means no bound.
func WithTimeout(d time.Duration) Option { return func(db *DB) { db.timeout = d } }

// WithStatementHook is for tests only: fault injection. hook is called before
// each data statement of Persist with the statement's 1-based ordinal within
// the batch (BEGIN and COMMIT are not counted); a non-nil return rolls the
// transaction back and Persist returns that error, wrapped. The hook must be
// safe for concurrent use when Persist is called concurrently.
func WithStatementHook(hook func(n int) error) Option { return func(db *DB) { db.hook = hook } }

// Open connects to the database named by dsn and applies pending migrations.
//
// dsn is "sqlite:PATH" (the file is created when missing) or a PostgreSQL
// connection string: a URL ("postgres://..." or "postgresql://...") or
// keyword/value settings ("host=... dbname=..."), pgxpool parameters such as
// pool_max_conns accepted. An unknown form is EINVALID; a database that
// cannot be reached is EUNAVAILABLE.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	db := &DB{tracer: otel.Tracer("gatehouse/sqlstore"), timeout: DefaultTimeout}
	for _, o := range opts {
		o(db)
	}
	var err error
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		db.be, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), db.timeout)
	case IsPostgres(dsn):
		db.be, err = openPostgres(ctx, dsn, db.timeout)
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

// IsPostgres reports whether dsn has the form of a PostgreSQL connection
// string (a postgres:// URL or keyword/value settings), as Open reads it.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		(!strings.HasPrefix(dsn, "sqlite:") && !strings.Contains(dsn, "://") && strings.Contains(dsn, "="))
}

// Close releases the connections. Calls in progress may fail with
// EUNAVAILABLE; the DB must not be used afterwards.
func (db *DB) Close() { db.be.close() }

// Dialect returns DialectSQLite or DialectPostgres.
func (db *DB) Dialect() string { return db.be.dialect() }

// bound returns ctx limited by the DB's timeout. Its cancel must be called.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return withTimeout(ctx, db.timeout)
}

// watch returns ctx limited by the DB's timeout as a deadline on progress
// rather than on the whole call: alive reports progress (a statement run, a
// row read), and the call is ended with ErrTimeout once the timeout passes
// without any. A batch of a million rows or the load of a large table takes
// longer than any fixed deadline a stalled database should get, yet each of
// its statements and rows comes quickly. Its cancel must be called.
func (db *DB) watch(ctx context.Context) (_ context.Context, alive func(), cancel context.CancelFunc) {
	if db.timeout <= 0 {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, func() {}, cancel
	}
	ctx, cancelCause := context.WithCancelCause(ctx)
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(max(db.timeout/8, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if now.UnixNano()-last.Load() > int64(db.timeout) {
					cancelCause(ErrTimeout)
					return
				}
			}
		}
	}()
	alive = func() { last.Store(time.Now().UnixNano()) }
	return ctx, alive, func() {
		close(stop)
		cancelCause(context.Canceled)
	}
}

// fail translates err, the raw error of a call made under bound's ctx.
func (db *DB) fail(ctx context.Context, err error) error {
	return interpret(db.be.dialect(), db.be.translate, markTimeout(ctx, db.timeout, err))
}

// withTimeout returns ctx limited by d (not at all when d <= 0), ended with
// the cause ErrTimeout. Its cancel must be called.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, ErrTimeout)
}

// markTimeout puts ErrTimeout into the chain of err when the timeout d of
// ctx (from withTimeout) is what ended the call, whatever the driver made of
// it.
func markTimeout(ctx context.Context, d time.Duration, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), ErrTimeout) && !errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%w within %s: %w", ErrTimeout, d, err)
	}
	return err
}

// interpret translates a raw error at the edge (STYLE 10): a timeout and a
// commit of unknown outcome are EUNAVAILABLE with the driver's error in the
// chain; anything else goes through the dialect's translate.
func interpret(dialect string, translate func(error) error, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrTimeout) || OutcomeUnknown(err) {
		return unavailable(dialect, err)
	}
	return translate(err)
}

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
