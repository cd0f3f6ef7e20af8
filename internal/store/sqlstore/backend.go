package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// backend is everything that differs between SQLite and PostgreSQL. The
// statement shapes, grouping, caching and loading are shared (persist.go,
// load.go) and only ask the backend for these fragments and primitives.
//
// Methods return raw driver errors; the DB translates them once, at the edge,
// with translate.
type backend interface {
	// dialect returns DialectSQLite or DialectPostgres.
	dialect() string
	// placeholder returns the n-th (1-based) bind parameter of a statement.
	placeholder(n int) string
	// maxRows returns how many rows of width cols one statement may carry.
	maxRows(cols int) int
	// columnArg converts an extra column value (string, time.Time or nil) to
	// a bind argument of the column's SQL type.
	columnArg(v any) any
	// dataArg converts a JSON document to a bind argument of the data column.
	dataArg(doc []byte) any
	// inTx runs fn in one transaction, committing when fn returns nil and
	// rolling back otherwise.
	inTx(ctx context.Context, fn func(exec execFunc) error) error
	// queryStrings returns the first column of every row.
	queryStrings(ctx context.Context, query string, args ...any) ([]string, error)
	// queryRows calls fn for every row with a function that scans the
	// row's columns into its arguments.
	queryRows(ctx context.Context, query string, args []any, fn func(scan func(dest ...any) error) error) error
	// queryDocs calls fn with the first column of every row; the slice is
	// only valid during the call.
	queryDocs(ctx context.Context, query string, args []any, fn func(doc []byte) error) error
	// migrate applies the embedded migrations of the dialect, all of them
	// when version is 0, else up or down to that version (tests).
	migrate(ctx context.Context, version int64) error
	// translate maps a driver error to a model error (STYLE 10): no rows is
	// ENOTFOUND, a unique violation ECONFLICT, a lost or busy connection
	// EUNAVAILABLE, anything else is wrapped (EINTERNAL).
	translate(err error) error
	close()
}

// execFunc runs one statement inside the transaction of inTx and returns
// the number of rows it changed.
type execFunc func(ctx context.Context, query string, args []any) (int64, error)

// unavailable marks err as EUNAVAILABLE while keeping it in the chain, so that
// errors.Is(err, context.DeadlineExceeded) still holds for callers.
func unavailable(dialect string, err error) error {
	return fmt.Errorf("%w: %w", model.Errorf(model.EUNAVAILABLE, "%s database unavailable", dialect), err)
}

// conflict returns the ECONFLICT error of a unique violation on table.
func conflict(table, detail string) error {
	return model.Errorf(model.ECONFLICT, "%s: unique constraint violated: %s", table, detail)
}

// isConnectionLoss reports the failures both dialects share that mean "the
// database cannot be reached now, try again later" rather than a bug: the
// context ended, the connection was refused, reset or closed.
func isConnectionLoss(err error) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &netErr):
		return true
	}
	return false
}

// quote returns a quoted SQL identifier. Both dialects use double quotes;
// table names such as "release" and "system" are keywords in one or the other.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// dollar returns PostgreSQL's n-th placeholder, "$n".
func dollar(n int) string { return "$" + strconv.Itoa(n) }
