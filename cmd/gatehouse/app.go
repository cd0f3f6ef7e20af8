package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/agents/dispatch"
	"github.com/gatehouse-dev/gatehouse/internal/api"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/ingest/kafka"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/ownership"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/telemetry"
)

// Config is everything the binary can be told.
type Config struct {
	Addr         string
	DB           string
	MaxBodyBytes int64
	LogFormat    string
	// LogLevel is the least severe level logged: debug, info, warn or
	// error.
	LogLevel string
	Token    string
	// TokensFile names the file of named tokens (YAML or JSON); none when
	// empty.
	TokensFile string
	// DBTimeout bounds every database transaction and query.
	DBTimeout time.Duration
	// ShutdownTimeout bounds the drain on shutdown: events in hand commit
	// within it, or serve fails.
	ShutdownTimeout time.Duration
	// ProbeInterval is how often the database's write probe runs for
	// /readyz; defaultProbeInterval when zero. No flag sets it.
	ProbeInterval time.Duration
	// LogOutput receives the logs; standard error when nil.
	LogOutput io.Writer
	// Logger, when set, receives the logs instead of a logger built from
	// LogFormat, LogLevel and LogOutput.
	Logger *slog.Logger
	// VerificationAllowPrivate lets verification metrics reach private
	// and loopback addresses.
	VerificationAllowPrivate bool
	// EventIDRetention is how long event ids are remembered.
	EventIDRetention time.Duration
	// GitHubWebhookSecret verifies GitHub's workflow_run webhooks; the
	// route is off without it.
	GitHubWebhookSecret string
	// AdvertiseAddr is where the other processes reach this one's API
	// (forwarded requests); the listen address when empty.
	AdvertiseAddr string
	// LeaseTTL and LeaseRenew time workspace leases (PostgreSQL).
	LeaseTTL, LeaseRenew time.Duration
	// WorkspaceIdle is how long a workspace holding nothing stays in
	// memory untouched; 0 keeps every workspace.
	WorkspaceIdle time.Duration
	// KafkaBrokers, when set, feed the engine from KafkaTopic as a member
	// of KafkaGroup; HTTP events are produced there and answered within
	// KafkaAnswerTimeout.
	KafkaBrokers       []string
	KafkaTopic         string
	KafkaGroup         string
	KafkaAnswerTimeout time.Duration
	// KafkaSessionTimeout is how long the group waits for a silent member;
	// KafkaRebalanceTimeout how long a rebalance waits for every member.
	KafkaSessionTimeout, KafkaRebalanceTimeout time.Duration
}

// defaultProbeInterval is often enough for a load balancer to stop sending
// writes soon after the database turns read-only, and cheap: one row
// written and rolled back.
const defaultProbeInterval = 5 * time.Second

// DefaultConfig returns the defaults: local address, SQLite file in the
// working directory.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8080", DB: "sqlite:gatehouse.db", MaxBodyBytes: api.DefaultMaxBodyBytes, LogFormat: "text", LogLevel: "info",
		DBTimeout: sqlstore.DefaultTimeout, ShutdownTimeout: 30 * time.Second, EventIDRetention: engine.DefaultEventIDRetention,
		LeaseTTL: ownership.DefaultLeaseTTL, LeaseRenew: ownership.DefaultLeaseRenew, WorkspaceIdle: 30 * time.Minute,
		KafkaTopic: kafka.DefaultTopic, KafkaGroup: kafka.DefaultGroup, KafkaAnswerTimeout: kafka.DefaultAnswerTimeout,
		KafkaSessionTimeout: 45 * time.Second, KafkaRebalanceTimeout: time.Minute}
}

// Validate checks the values no flag parser checks, naming the flag and its
// variable.
func (c Config) Validate() error {
	var errs []error
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format (GATEHOUSE_LOG_FORMAT): want text or json, got %q", c.LogFormat))
	}
	if _, err := parseLogLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level (GATEHOUSE_LOG_LEVEL): %w", err))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("--max-body-bytes (GATEHOUSE_MAX_BODY_BYTES): must be positive, got %d", c.MaxBodyBytes))
	}
	if c.DBTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--db-timeout (GATEHOUSE_DB_TIMEOUT): must be positive, got %s", c.DBTimeout))
	}
	if c.EventIDRetention <= 0 {
		errs = append(errs, fmt.Errorf("--event-id-retention (GATEHOUSE_EVENT_ID_RETENTION): must be positive, got %s", c.EventIDRetention))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-timeout (GATEHOUSE_SHUTDOWN_TIMEOUT): must be positive, got %s", c.ShutdownTimeout))
	}
	return errors.Join(append(errs, c.validateOwnership()...)...)
}

// Lifecycle phases, as /readyz reports them.
const (
	phaseRestoring int32 = iota
	phaseServing
	phaseDraining
)

// Main is a wired Gatehouse: engine, database and HTTP server. End-to-end
// tests start it the way the binary does.
type Main struct {
	cfg    Config
	logger *slog.Logger
	db     *sqlstore.DB
	engine *engine.Engine
	// dispatcher hands jobs to their agents; set before anything commits.
	dispatcher atomic.Pointer[dispatch.Dispatcher]
	// console is the web console; its live streams end on shutdown.
	console  *console.Console
	server   *http.Server
	listener net.Listener
	served   chan error
	phase    atomic.Int32
	// unwritable is the last write probe's failure, nil while the database
	// takes writes.
	unwritable atomic.Pointer[error]
	stopProbe  chan struct{}
	probes     sync.WaitGroup
	// stopTracing flushes spans still buffered.
	stopTracing func(context.Context) error
	// restoreTime is set once every workspace is restored.
	restoreTime prometheus.Gauge
	// own is this process's share of the workspaces.
	own owners
}

// Open connects the database and checks that it can be written and that
// the encryption key is the one its values were sealed with, then listens
// and starts answering: /livez at once, /readyz 503 and events 503 until
// Run has restored the workspaces. Close releases what Open acquired.
func Open(ctx context.Context, cfg Config) (*Main, error) {
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = defaultProbeInterval
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = newLogger(cfg)
	}
	m := &Main{cfg: cfg, logger: logger, stopProbe: make(chan struct{})}
	stop, err := setupTracing(ctx)
	if err != nil {
		return nil, err
	}
	m.stopTracing = stop
	registry := agentTypes()
	commits := console.NewHub()
	ecfg := engine.Config{Logger: m.logger, Agents: registry, OutcomeUnknown: sqlstore.OutcomeUnknown,
		VerificationAllowPrivate: cfg.VerificationAllowPrivate, EventIDRetention: cfg.EventIDRetention,
		OnJobs: func(ws string, jobs []*model.Job) {
			if d := m.dispatcher.Load(); d != nil {
				d.Notify(ws, jobs)
			}
		},
		OnCommit: commits.Publish}
	var sealer *secrets.Sealer
	if key := os.Getenv(envEncryptionKey); key != "" {
		if sealer, err = secrets.New(key); err != nil {
			m.Close()
			return nil, fmt.Errorf("%s: %w", envEncryptionKey, err)
		}
		ecfg.Sealer = sealer
	}
	if err := m.lockDatabase(); err != nil {
		m.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if cfg.DB != "memory" {
		if err := m.openDB(ctx, sealer, reg); err != nil {
			m.Close()
			return nil, err
		}
		ecfg.Persister, ecfg.Loader = m.db, m.db
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	m.listener = ln
	if err := m.setupOwnership(reg); err != nil {
		m.Close()
		return nil, err
	}
	m.wireOwnership(&ecfg)
	m.engine = engine.New(ecfg)
	m.engine.Refuse(engine.ErrRestoring)
	m.registerMetrics(reg)
	var opener dispatch.Opener
	if sealer != nil {
		opener = sealer
	}
	dcfg := dispatch.Config{Engine: m.engine, Agents: registry, Opener: opener, Logger: m.logger, Registerer: reg}
	if m.own.leases != nil {
		dcfg.Owns = m.own.leases.Owns
	}
	m.dispatcher.Store(dispatch.New(dcfg))
	if err := m.openIntake(ctx, reg); err != nil {
		m.Close()
		return nil, err
	}
	tokens, err := loadTokens(cfg)
	if err != nil {
		m.Close()
		return nil, err
	}
	acfg := api.Config{MaxBodyBytes: cfg.MaxBodyBytes, Tokens: tokens, Logger: m.logger, Registry: reg,
		Events: telemetry.NewEvents(reg), Ready: m.readiness, Agents: registry, Opener: opener,
		GitHubWebhookSecret: cfg.GitHubWebhookSecret}
	m.apiOwnership(&acfg)
	handler := api.New(m.engine, acfg)
	m.console = console.New(m.engine, console.Config{Tokens: tokens, Hub: commits, Logger: m.logger})
	m.server = &http.Server{Handler: traced(m.console.Mount(handler)), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn)}
	m.server.RegisterOnShutdown(m.console.Close)
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	if m.db != nil {
		m.probes.Go(m.probeLoop)
	}
	return m, nil
}

// openDB opens and migrates the database, and refuses one that cannot be
// written or whose values another key sealed.
func (m *Main) openDB(ctx context.Context, sealer *secrets.Sealer, reg prometheus.Registerer) error {
	db, err := sqlstore.Open(ctx, m.cfg.DB, sqlstore.WithTimeout(m.cfg.DBTimeout), sqlstore.WithRegisterer(reg))
	if err != nil {
		return fmt.Errorf("open database %s: %w", redactDSN(m.cfg.DB), err)
	}
	m.db = db
	if err := db.CheckWritable(ctx); err != nil {
		return fmt.Errorf("database %s cannot be written (a read-only file, a read-only server or transaction default, a standby?): %w",
			redactDSN(m.cfg.DB), err)
	}
	return checkKey(ctx, db, sealer, m.logger)
}

// Addr returns the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Run restores every stored workspace, takes events until ctx is cancelled,
// then drains: /readyz and new events answer 503, the events in hand commit
// (or fail as a whole) within the shutdown timeout, and the server stops. It
// returns nil when everything in hand finished.
func (m *Main) Run(ctx context.Context) error {
	m.logger.Info("restoring workspaces", "addr", m.Addr(), "db", redactDSN(m.cfg.DB))
	start := time.Now()
	err := m.takeStored(ctx)
	if err == nil {
		err = m.engine.Restore(ctx)
	}
	consumed := make(chan struct{})
	intake, stopIntake := context.WithCancel(context.Background())
	defer stopIntake()
	if err != nil {
		close(consumed)
		if ctx.Err() == nil {
			return err
		}
		m.logger.Info("stopped while restoring", "err", err)
	} else {
		// The outbox is read once everything is loaded: jobs committed
		// before a crash are handed over now.
		m.dispatcher.Load().Start()
		m.startOwnership()
		m.engine.Accept()
		m.consume(intake, consumed)
		m.phase.Store(phaseServing)
		took := time.Since(start)
		m.restoreTime.Set(took.Seconds())
		m.logger.Info("serving", "addr", m.Addr(), "advertise", m.own.advertise, "db", redactDSN(m.cfg.DB),
			"restoreMs", took.Milliseconds())
	}
	select {
	case err := <-m.served:
		return err
	case <-ctx.Done():
	}
	// Events are refused before /readyz says so: whoever sees it draining
	// sees its events refused too.
	m.engine.Refuse(engine.ErrShuttingDown)
	m.phase.Store(phaseDraining)
	m.logger.Info("draining", "timeoutMs", m.cfg.ShutdownTimeout.Milliseconds())
	drain, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
	defer cancel()
	stopIntake()
	<-consumed
	if err := m.engine.Drain(drain); err != nil {
		return fmt.Errorf("shutdown after %s: %w", m.cfg.ShutdownTimeout, err)
	}
	m.leaveGroup()
	if err := m.server.Shutdown(drain); err != nil {
		return fmt.Errorf("shutdown after %s: %w", m.cfg.ShutdownTimeout, err)
	}
	if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	m.logger.Info("stopped")
	return nil
}

// readiness is /readyz: nil once restored, while serving with a writable
// database.
func (m *Main) readiness() error {
	switch m.phase.Load() {
	case phaseRestoring:
		return errors.New("restoring workspaces")
	case phaseDraining:
		return errors.New("draining for shutdown")
	}
	if err := m.unwritable.Load(); err != nil {
		return fmt.Errorf("database cannot be written: %w", *err)
	}
	return nil
}

// probeLoop runs the write probe every ProbeInterval until Close, logging
// when the database stops and starts taking writes again.
func (m *Main) probeLoop() {
	tick := time.NewTicker(m.cfg.ProbeInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stopProbe:
			return
		case <-tick.C:
		}
		err := m.db.CheckWritable(context.Background())
		was := m.unwritable.Load() != nil
		switch {
		case err != nil:
			m.unwritable.Store(&err)
			if !was {
				m.logger.Error("database cannot be written; /readyz answers 503", "err", err)
			}
		case was:
			m.unwritable.Store(nil)
			m.logger.Info("database takes writes again")
		}
	}
}

// Close stops the server (if Run did not), the probe and the scheduler, and
// closes the listener and the database.
func (m *Main) Close() {
	close(m.stopProbe)
	m.probes.Wait()
	if m.console != nil {
		m.console.Close()
	}
	if m.server != nil {
		_ = m.server.Close()
	}
	m.leaveGroup()
	if d := m.dispatcher.Load(); d != nil {
		d.Close() // before the engine: it records outcomes through it
	}
	if m.engine != nil {
		m.engine.Close()
	}
	m.stopOwnership()
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
	if err := sqlstore.Migrate(ctx, dsn); err != nil {
		return fmt.Errorf("migrate %s: %w", redactDSN(dsn), err)
	}
	return nil
}
