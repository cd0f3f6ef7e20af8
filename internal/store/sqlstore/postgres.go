package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

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
	// migrationConfig is the pool's configuration without the session
	// timeouts, for the migrations' own connection.
	migrationConfig *pgxpool.Config
}

// Session parameters set from the DB's timeout (see WithTimeout).
var postgresTimeoutParams = []string{"statement_timeout", "idle_in_transaction_session_timeout"}

func openPostgres(ctx context.Context, dsn string, timeout time.Duration) (*postgresBackend, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in this message.
		return nil, model.Errorf(model.EINVALID, "database: %v", err)
	}
	migrationConfig := cfg.Copy()
	if timeout > 0 {
		ms := strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
		for _, name := range postgresTimeoutParams {
			if _, set := cfg.ConnConfig.RuntimeParams[name]; !set {
				cfg.ConnConfig.RuntimeParams[name] = ms
			}
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", translatePostgres(err))
	}
	// The pool connects lazily; a ping makes an unreachable server an error
	// of Open rather than of the first event.
	pingCtx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", interpret(DialectPostgres, translatePostgres, markTimeout(pingCtx, timeout, err)))
	}
	return &postgresBackend{pool: pool, migrationConfig: migrationConfig}, nil
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

// dataArg passes the bytes, which pgx sends to a json parameter as the JSON
// text itself (not as a base64 bytea).
func (p *postgresBackend) dataArg(doc []byte) any { return doc }

func (p *postgresBackend) inTx(ctx context.Context, fn func(exec execFunc) error) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	err = fn(func(ctx context.Context, query string, args []any) (int64, error) {
		tag, err := tx.Exec(ctx, query, args...)
		return tag.RowsAffected(), err
	})
	if err != nil {
		// A rollback that fails (the context ended, the connection is
		// gone) closes the connection, which aborts the transaction too.
		_ = tx.Rollback(ctx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		if postgresCommitUnanswered(err) {
			return commitOutcomeUnknown(err)
		}
		return err
	}
	return nil
}

// postgresCommitUnanswered reports whether a failed COMMIT may have taken
// effect: the server did not answer it (an answer is an error, or ROLLBACK
// for an aborted transaction) and some of it may have been sent.
func postgresCommitUnanswered(err error) bool {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr), errors.Is(err, pgx.ErrTxCommitRollback), pgconn.SafeToRetry(err):
		return false
	}
	return true
}

func (p *postgresBackend) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (p *postgresBackend) queryRows(ctx context.Context, query string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (p *postgresBackend) queryDocs(ctx context.Context, query string, args []any, fn func([]byte) error) error {
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		// The raw wire value avoids a copy per row: a json column's value
		// is the JSON itself. A jsonb column's (a database migrated back
		// below 00015) is too in text format; its binary format would
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
	// goose needs database/sql. Its pool of one connection has no session
	// timeouts: a migration may rewrite a large table.
	cfg := p.migrationConfig.Copy()
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
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
