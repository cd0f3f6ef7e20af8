package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-dev/gatehouse/internal/api"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// Config is everything the binary can be told.
type Config struct {
	Addr         string
	DB           string
	MaxBodyBytes int64
	LogFormat    string
	Token        string
}

// DefaultConfig returns the defaults: local address, SQLite file in the
// working directory.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8080", DB: "sqlite:gatehouse.db", MaxBodyBytes: api.DefaultMaxBodyBytes, LogFormat: "text"}
}

// Main is a wired Gatehouse: engine, database and HTTP server. End-to-end
// tests start it the way the binary does.
type Main struct {
	cfg      Config
	logger   *slog.Logger
	db       *sqlstore.DB
	engine   *engine.Engine
	server   *http.Server
	listener net.Listener
	ready    atomic.Bool
	// stopTracing flushes spans still buffered.
	stopTracing func(context.Context) error
}

// Open connects the database, restores every stored workspace and binds the
// listen address. Close releases what Open acquired.
func Open(ctx context.Context, cfg Config) (*Main, error) {
	m := &Main{cfg: cfg, logger: newLogger(cfg.LogFormat)}
	stop, err := setupTracing(ctx)
	if err != nil {
		return nil, err
	}
	m.stopTracing = stop
	ecfg := engine.Config{Logger: m.logger}
	if key := os.Getenv("GATEHOUSE_ENCRYPTION_KEY"); key != "" {
		sealer, err := secrets.New(key)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_ENCRYPTION_KEY: %w", err)
		}
		ecfg.Sealer = sealer
	}
	if cfg.DB != "memory" {
		db, err := sqlstore.Open(ctx, cfg.DB)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		m.db = db
		ecfg.Persister, ecfg.Loader = db, db
	}
	m.engine = engine.New(ecfg)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler := api.New(m.engine, api.Config{MaxBodyBytes: cfg.MaxBodyBytes, Token: cfg.Token, Logger: m.logger,
		Registry: reg, Ready: m.ready.Load})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	m.listener = ln
	m.server = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if err := m.engine.Restore(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Addr returns the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Run serves until ctx is cancelled, then stops taking requests, lets the
// requests in hand finish (each event commits or not at all), and returns.
func (m *Main) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.server.Serve(m.listener) }()
	m.ready.Store(true)
	m.logger.Info("serving", "addr", m.Addr(), "db", redact(m.cfg.DB))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.ready.Store(false)
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.server.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	m.logger.Info("stopped")
	return nil
}

// Close stops the scheduler and closes the listener and the database.
func (m *Main) Close() {
	if m.engine != nil {
		m.engine.Close()
	}
	if m.listener != nil {
		_ = m.listener.Close()
	}
	if m.db != nil {
		m.db.Close()
	}
	if m.stopTracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.stopTracing(ctx); err != nil {
			m.logger.Warn("flushing traces", "err", err)
		}
	}
}

// Migrate applies the database migrations of dsn.
func Migrate(ctx context.Context, dsn string) error {
	if dsn == "memory" {
		return errors.New("the memory database has no migrations")
	}
	return sqlstore.Migrate(ctx, dsn)
}

func newLogger(format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// redact hides a password in a database URL for logging.
func redact(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j > 0 && j < i {
			if k := strings.LastIndex(dsn[:i], ":"); k > j+2 {
				return dsn[:k+1] + "***" + dsn[i:]
			}
		}
	}
	return dsn
}
