package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// migrations holds the numbered goose SQL files, one directory per dialect.
// Both directories must describe the same tables and columns; the schema
// test checks them against store.Tables.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// runMigrations applies every pending migration of fsys, or, when version is
// not 0, migrates up or down to that version. It uses goose's
// Provider, which keeps no global state, so two DBs of different dialects can
// migrate in one process (tests do).
func runMigrations(ctx context.Context, dialect goose.Dialect, db *sql.DB, fsys fs.FS, version int64, opts ...goose.ProviderOption) error {
	// The global registry holds Go migrations registered by init functions;
	// ours are SQL only, and ignoring it keeps other packages' out.
	opts = append(opts, goose.WithDisableGlobalRegistry(true))
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("goose provider: %w", err)
	}
	// p.Close would close db, which the caller still owns.
	if version == 0 {
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("goose up: %w", err)
		}
		return nil
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("goose version: %w", err)
	}
	if current > version {
		_, err = p.DownTo(ctx, version)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return fmt.Errorf("goose to version %d: %w", version, err)
	}
	return nil
}
