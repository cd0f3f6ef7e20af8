package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jackc/puddle/v2"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

const (
	// postgresMaxParams is the wire protocol's limit (a 16-bit count).
	postgresMaxParams = 65535
	// postgresMaxRows caps a multi-row statement; larger ones gain little
	// per row and take longer to plan.
	postgresMaxRows = 1000
)

// PostgreSQL error codes and classes translated by translatePostgres.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgReadOnlyTransaction  = "25006" // a standby after failover
	pgQueryCanceled        = "57014" // statement_timeout or a cancel request
	pgAdminShutdown        = "57P01"
	pgCrashShutdown        = "57P02"
	pgCannotConnectNow     = "57P03"
	pgClassConnection      = "08" // connection exception
	pgClassResources       = "53" // disk full, out of memory, too many connections
)

type postgresBackend struct {
	pool *pgxpool.Pool
}

func openPostgres(ctx context.Context, dsn string) (*postgresBackend, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in this message.
		return nil, model.Errorf(model.EINVALID, "database: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", translatePostgres(err))
	}
	// The pool connects lazily; a ping makes an unreachable server an error
	// of Open rather than of the first event.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", translatePostgres(err))
	}
	return &postgresBackend{pool: pool}, nil
}

func (p *postgresBackend) dialect() string          { return DialectPostgres }
func (p *postgresBackend) placeholder(n int) string { return dollar(n) }
func (p *postgresBackend) translate(err error) error {
	return translatePostgres(err)
}
func (p *postgresBackend) close() { p.pool.Close() }

func (p *postgresBackend) maxRows(cols int) int {
	return min(postgresMaxRows, postgresMaxParams/cols)
}

// columnArg passes values through: pgx binds time.Time as timestamptz, string
// as text and nil as NULL.
func (p *postgresBackend) columnArg(v any) any { return v }

// dataArg passes the bytes, which pgx sends to a jsonb parameter as the JSON
// text itself (not as a base64 bytea).
func (p *postgresBackend) dataArg(doc []byte) any { return doc }

func (p *postgresBackend) inTx(ctx context.Context, fn func(exec execFunc) error) error {
	// BeginFunc rolls back when fn fails and commits otherwise.
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		return fn(func(ctx context.Context, query string, args []any) error {
			_, err := tx.Exec(ctx, query, args...)
			return err
		})
	})
}

func (p *postgresBackend) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (p *postgresBackend) queryDocs(ctx context.Context, query string, args []any, fn func([]byte) error) error {
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		// The raw wire value avoids a copy per row. pgx asks for jsonb in
		// text format, which is the JSON itself; the binary format would
		// prefix a version byte, stripped here in case that ever changes.
		doc := rows.RawValues()[0]
		if len(doc) > 0 && doc[0] == 1 {
			doc = doc[1:]
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (p *postgresBackend) migrate(ctx context.Context, version int64) error {
	sub, err := fs.Sub(migrations, "migrations/postgres")
	if err != nil {
		return err
	}
	// goose needs database/sql; this view shares the pool and closing it
	// leaves the pool open.
	db := stdlib.OpenDBFromPool(p.pool)
	defer db.Close()
	// An advisory lock: several gatehouse processes starting at once must
	// not run the same migration twice.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	return runMigrations(ctx, goose.DialectPostgres, db, sub, version, goose.WithSessionLocker(locker))
}

// translatePostgres is the PostgreSQL edge of STYLE 10.
func translatePostgres(err error) error {
	if err == nil {
		return nil
	}
	// database/sql's no rows can come from goose's connection.
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, sql.ErrNoRows) {
		return model.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == pgUniqueViolation:
			return conflict(pgErr.TableName, pgErr.ConstraintName+": "+pgErr.Detail)
		case pgErr.Code == pgSerializationFailure, pgErr.Code == pgDeadlockDetected,
			pgErr.Code == pgReadOnlyTransaction, pgErr.Code == pgQueryCanceled,
			pgErr.Code == pgAdminShutdown, pgErr.Code == pgCrashShutdown, pgErr.Code == pgCannotConnectNow,
			strings.HasPrefix(pgErr.Code, pgClassConnection), strings.HasPrefix(pgErr.Code, pgClassResources):
			return unavailable(DialectPostgres, err)
		}
		return fmt.Errorf("postgres: %w", err)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, puddle.ErrClosedPool) || isConnectionLoss(err) {
		return unavailable(DialectPostgres, err)
	}
	return fmt.Errorf("postgres: %w", err)
}
