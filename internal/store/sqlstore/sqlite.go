package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
	"unsafe"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

const (
	// sqliteMaxParams is SQLITE_MAX_VARIABLE_NUMBER (32766 since 3.32).
	sqliteMaxParams = 32766
	// sqliteMaxRows caps a multi-row statement: past a few hundred rows the
	// statement's parse time grows and nothing is gained per row.
	sqliteMaxRows = 500
	// sqliteTimeFormat is fixed-width UTC, so that text order is time order
	// (RFC 3339 with trimmed fractions is not: ".1Z" sorts after ".12Z").
	sqliteTimeFormat = "2006-01-02T15:04:05.000000000Z"
)

// sqliteParams configure every connection (modernc applies them on connect):
//   - journal_mode WAL: readers never block the writer and a commit appends to
//     the log instead of rewriting pages, which is what makes one transaction
//     per event cheap.
//   - synchronous FULL: every commit is fsynced before it returns. NORMAL
//     would be faster but may lose the last commits on power loss, and a
//     commit here is acknowledged to API clients and followed by dispatching
//     jobs to agents, so it must survive one.
//   - busy_timeout: another process (gatehouse migrate, a backup) holding the
//     lock makes a statement wait up to 5 s instead of failing at once.
//   - foreign_keys on: SQLite leaves them off by default; the entity tables
//     declare none (see docs/persistence.md), but any future one is enforced.
//   - txlock immediate: a transaction takes the write lock at BEGIN, so two
//     writers never deadlock upgrading a read lock (SQLITE_BUSY mid-batch).
//   - page_size 32 KiB (effective when the file is created): documents are
//     0.5-2 KB, so 4 KiB pages hold one or two rows, and a batch writes a
//     WAL frame, one write call, for every page it dirties. 32 KiB pages made
//     a fan-out about 5-8 % faster than 16 KiB (workload.py, and the
//     engine's BenchmarkFanout, interleaved runs); 64 KiB no faster.
//   - cache_size 16 MiB: a batch of 20,000 rows dirties about 40 MB, which
//     SQLite spills to the WAL mid-transaction once the cache is full. That
//     costs nothing measurable: a fan-out to 25,000 targets took the same
//     time with 64 MiB (1.49 s, medians of six runs) and its server's peak
//     memory was 12 MiB higher. The default, 2 MB, would spill from the
//     first few hundred rows of a batch.
//
// The _pragma entries run before the _journal_mode key, as page_size must.
const sqliteParams = "_pragma=page_size(32768)&_pragma=cache_size(-16384)&" +
	"_busy_timeout=5000&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"

type sqliteBackend struct {
	db *sql.DB
}

func openSQLite(ctx context.Context, path string, timeout time.Duration) (*sqliteBackend, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, model.Errorf(model.EINVALID, "database: sqlite path %q must be non-empty without ? or #", path)
	}
	db, err := sql.Open("sqlite", path+"?"+sqliteParams)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, translateSQLite(err))
	}
	// One connection: SQLite has a single writer anyway, and one connection
	// means one transaction at a time without SQLITE_BUSY between our own
	// goroutines, while WAL keeps other processes' readers unblocked.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	pingCtx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, interpret(DialectSQLite, translateSQLite, markTimeout(pingCtx, timeout, err)))
	}
	return &sqliteBackend{db: db}, nil
}

func (s *sqliteBackend) dialect() string        { return DialectSQLite }
func (s *sqliteBackend) placeholder(int) string { return "?" }
func (s *sqliteBackend) translate(err error) error {
	return translateSQLite(err)
}
func (s *sqliteBackend) close() { _ = s.db.Close() }

func (s *sqliteBackend) maxRows(cols int) int {
	return min(sqliteMaxRows, sqliteMaxParams/cols)
}

func (s *sqliteBackend) columnArg(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(sqliteTimeFormat)
	}
	return v
}

// dataArg binds the document as a string, so that it is stored as TEXT: a
// []byte would be stored as a BLOB, which SQLite's json functions read as
// their binary JSONB format. The string shares doc's memory instead of
// copying it (25 MB for a batch of 20,000 jobs and releases): doc is a fresh
// buffer from Encode that nothing modifies afterwards.
func (s *sqliteBackend) dataArg(doc []byte) any {
	if len(doc) == 0 {
		return ""
	}
	return unsafe.String(&doc[0], len(doc))
}

func (s *sqliteBackend) inTx(ctx context.Context, fn func(exec execFunc) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	exec := func(ctx context.Context, query string, args []any) (int64, error) {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	if err := fn(exec); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		if sqliteCommitMayHaveApplied(err) {
			return commitOutcomeUnknown(err)
		}
		return err
	}
	return nil
}

// sqliteCommitMayHaveApplied reports whether a failed COMMIT may have taken
// effect (see OutcomeUnknown). database/sql answers a done context, or a
// transaction it already rolled back, without running COMMIT; the driver
// rolls back after SQLITE_BUSY or SQLITE_LOCKED, and after an interrupt by
// the context, which it reports as the context's error.
func sqliteCommitMayHaveApplied(err error) bool {
	if errors.Is(err, sql.ErrTxDone) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return false
		}
	}
	return true
}

func (s *sqliteBackend) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *sqliteBackend) queryRows(ctx context.Context, query string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
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

func (s *sqliteBackend) queryDocs(ctx context.Context, query string, args []any, fn func([]byte) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	// RawBytes reuses one buffer for every row instead of allocating a copy.
	var doc sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&doc); err != nil {
			return err
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *sqliteBackend) migrate(ctx context.Context, version int64) error {
	sub, err := fs.Sub(migrations, "migrations/sqlite")
	if err != nil {
		return err
	}
	// No locker: the single connection and BEGIN IMMEDIATE serialise
	// migrations within the process, and busy_timeout across processes.
	return runMigrations(ctx, goose.DialectSQLite3, s.db, sub, version)
}

// translateSQLite is the SQLite edge of STYLE 10.
func translateSQLite(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return model.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		if code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return sqliteConflict(se.Error())
		}
		switch code & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_INTERRUPT:
			// Locked by someone else, disk trouble, or the context ended
			// (modernc interrupts the statement): retrying later may work.
			return unavailable(DialectSQLite, err)
		}
	}
	if isConnectionLoss(err) || strings.Contains(err.Error(), "database is closed") {
		return unavailable(DialectSQLite, err)
	}
	return fmt.Errorf("sqlite: %w", err)
}

// sqliteConflict names the table and columns of a unique violation from
// SQLite's message, "... UNIQUE constraint failed: resource.workspace_id,
// resource.identifier (2067)"; SQLite reports no constraint name.
func sqliteConflict(msg string) error {
	const marker = "constraint failed: "
	detail := msg
	if i := strings.LastIndex(msg, marker); i >= 0 {
		detail = msg[i+len(marker):]
	}
	if i := strings.LastIndex(detail, " ("); i >= 0 {
		detail = detail[:i]
	}
	table, _, _ := strings.Cut(detail, ".")
	cols := strings.Split(detail, ", ")
	for i, c := range cols {
		cols[i] = strings.TrimPrefix(c, table+".")
	}
	return conflict(table, "("+strings.Join(cols, ", ")+")")
}
