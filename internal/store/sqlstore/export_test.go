package sqlstore

import "context"

// Test-only views of the database, for the external test package.

// QueryStrings runs q and returns the first column of every row as text.
func (db *DB) QueryStrings(ctx context.Context, q string, args ...any) ([]string, error) {
	return db.be.queryStrings(ctx, q, args...)
}

// TableNames lists the tables in the database (SQLite's own excluded).
func (db *DB) TableNames(ctx context.Context) ([]string, error) {
	if db.Dialect() == DialectSQLite {
		return db.QueryStrings(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	}
	return db.QueryStrings(ctx, "SELECT table_name::text FROM information_schema.tables "+
		"WHERE table_schema = current_schema() ORDER BY table_name")
}

// TableColumns lists a table's columns in declaration order.
func (db *DB) TableColumns(ctx context.Context, table string) ([]string, error) {
	if db.Dialect() == DialectSQLite {
		return db.QueryStrings(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
	}
	return db.QueryStrings(ctx, "SELECT column_name::text FROM information_schema.columns "+
		"WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position", table)
}

// MigrateTo migrates the database up or down to a schema version.
func (db *DB) MigrateTo(ctx context.Context, version int64) error { return db.be.migrate(ctx, version) }
