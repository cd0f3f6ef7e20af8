package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TestTranslate covers the error classes that real-database tests cannot
// provoke on demand (a failover, a serialization failure); unique
// violations, closed databases and canceled contexts are tested for real in
// persist_test.go.
func TestTranslate(t *testing.T) {
	injected := model.Errorf(model.EUNAVAILABLE, "injected")
	tests := []struct {
		name   string
		err    error
		code   string
		pgOnly bool // PostgreSQL's own errors never reach SQLite's edge
	}{
		{"nil", nil, "", false},
		{"sql no rows", sql.ErrNoRows, model.ENOTFOUND, false},
		{"pgx no rows", pgx.ErrNoRows, model.ENOTFOUND, true},
		{"pg unique", &pgconn.PgError{Code: "23505", TableName: "resource", ConstraintName: "resource_identifier_key"}, model.ECONFLICT, true},
		{"pg connection failure", &pgconn.PgError{Code: "08006"}, model.EUNAVAILABLE, true},
		{"pg admin shutdown", &pgconn.PgError{Code: "57P01"}, model.EUNAVAILABLE, true},
		{"pg serialization", &pgconn.PgError{Code: "40001"}, model.EUNAVAILABLE, true},
		{"pg too many connections", &pgconn.PgError{Code: "53300"}, model.EUNAVAILABLE, true},
		{"pg syntax error", &pgconn.PgError{Code: "42601"}, model.EINTERNAL, true},
		{"deadline", fmt.Errorf("exec: %w", context.DeadlineExceeded), model.EUNAVAILABLE, false},
		{"bad conn", driver.ErrBadConn, model.EUNAVAILABLE, false},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), model.EUNAVAILABLE, false},
		{"conn closed", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), model.EUNAVAILABLE, true},
		{"coded error passes through", fmt.Errorf("hook: %w", injected), model.EUNAVAILABLE, false},
		{"other", errors.New("boom"), model.EINTERNAL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for dialect, translate := range map[string]func(error) error{
				DialectSQLite: translateSQLite, DialectPostgres: translatePostgres,
			} {
				if dialect == DialectSQLite && tt.pgOnly {
					continue
				}
				got := translate(tt.err)
				if code := model.ErrorCode(got); code != tt.code {
					t.Errorf("%s: code %q, want %q (%v)", dialect, code, tt.code, got)
				}
				if tt.err != nil && tt.code != model.ENOTFOUND && tt.code != model.ECONFLICT && !errors.Is(got, tt.err) {
					t.Errorf("%s: %v does not wrap %v", dialect, got, tt.err)
				}
			}
		})
	}
}

func TestSQLiteConflict(t *testing.T) {
	err := sqliteConflict("constraint failed: UNIQUE constraint failed: resource.workspace_id, resource.identifier (2067)")
	want := "resource: unique constraint violated: (workspace_id, identifier)"
	if err.Error() != want || model.ErrorCode(err) != model.ECONFLICT {
		t.Errorf("got %q (%s), want %q", err, model.ErrorCode(err), want)
	}
}
