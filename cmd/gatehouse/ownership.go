package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/api"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/ingest/kafka"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/ownership"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// owners is this process's share of the workspaces: the lock of a SQLite
// file, or leases in PostgreSQL, and the Kafka intake when configured.
type owners struct {
	lock   *ownership.FileLock
	leases *ownership.Leases
	intake *kafka.Intake
	// id names this process in leases and partitions; advertise is where
	// it serves the API for the others.
	id, advertise string
	// cancel stops the lease renewals and the idle unloading; wg waits for
	// them.
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// lockDatabase takes the lock of a SQLite file: a second process on the
// same file refuses to start, naming the first.
func (m *Main) lockDatabase() error {
	lock, err := m.lockFor()
	m.own.lock = lock
	return err
}

// lockFor takes the lock of the SQLite file of the configuration (nil for
// another database).
func (m *Main) lockFor() (*ownership.FileLock, error) {
	path, ok := strings.CutPrefix(m.cfg.DB, "sqlite:")
	if !ok {
		return nil, nil
	}
	host, _ := os.Hostname()
	lock, err := ownership.LockFile(path, ownership.Holder{PID: os.Getpid(), Address: m.cfg.Addr, Host: host,
		Since: time.Now().UTC()})
	var held *ownership.HeldError
	switch {
	case errors.As(err, &held):
		return nil, fmt.Errorf("database %s is in use: %w; one process serves a SQLite file (stop the other, or give this one "+
			"another --db; several processes share a PostgreSQL database)", m.cfg.DB, err)
	case err != nil:
		return nil, fmt.Errorf("open database %s: %w", redactDSN(m.cfg.DB), err)
	}
	return lock, nil
}

// setupOwnership makes this process one owner among several when the
// database is PostgreSQL: its leases, renewed from Run on. It runs once the
// address is known, before the engine is built.
func (m *Main) setupOwnership(reg prometheus.Registerer) error {
	m.own.id = uuid.NewString()
	m.own.advertise = m.cfg.AdvertiseAddr
	if m.own.advertise == "" {
		m.own.advertise = m.listener.Addr().String()
	}
	if m.own.lock != nil {
		host, _ := os.Hostname()
		if err := m.own.lock.Record(ownership.Holder{PID: os.Getpid(), Address: m.own.advertise, Host: host,
			Since: time.Now().UTC()}); err != nil {
			return err
		}
	}
	if m.db == nil || m.db.Dialect() != sqlstore.DialectPostgres {
		return nil
	}
	m.own.leases = ownership.NewLeases(ownership.LeaseConfig{Store: m.db, Owner: m.own.id, Address: m.own.advertise,
		TTL: m.cfg.LeaseTTL, Renew: m.cfg.LeaseRenew, Logger: m.logger, Registerer: reg,
		AdoptLapsed: len(m.cfg.KafkaBrokers) == 0,
		OnLost:      func(ws, _ string) { m.engine.Unload(ws) },
		Adopt:       m.loadAdopted})
	return nil
}

// wireOwnership sets the engine's side: fencing by lease, the dispatcher
// resumed for a workspace loaded, the lease given up for one unloaded.
func (m *Main) wireOwnership(ecfg *engine.Config) {
	ecfg.OnLoad = func(ws string) {
		if d := m.dispatcher.Load(); d != nil {
			d.Resume(ws)
		}
	}
	if m.own.leases == nil {
		return
	}
	leases := m.own.leases
	ecfg.Fence = leases.Fence
	ecfg.OnUnload = func(ws string) { leases.Release(context.Background(), ws) }
}

// openIntake connects to Kafka when configured.
func (m *Main) openIntake(ctx context.Context, reg prometheus.Registerer) error {
	if len(m.cfg.KafkaBrokers) == 0 {
		return nil
	}
	in, err := kafka.New(ctx, kafka.Config{Brokers: m.cfg.KafkaBrokers, Topic: m.cfg.KafkaTopic, Group: m.cfg.KafkaGroup,
		Engine: m.engine, DB: m.db, Leases: m.own.leases, Owner: m.own.id, Address: m.own.advertise,
		AnswerTimeout: m.cfg.KafkaAnswerTimeout, SessionTimeout: m.cfg.KafkaSessionTimeout, RebalanceTimeout: m.cfg.KafkaRebalanceTimeout,
		Logger: m.logger, Registerer: reg})
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	m.own.intake = in
	return nil
}

// apiOwnership is the API's side: who serves a workspace, and where events
// go.
func (m *Main) apiOwnership(cfg *api.Config) {
	cfg.Self = m.own.advertise
	if m.db != nil {
		cfg.Workspaces = m.db.WorkspaceRecords
	}
	switch {
	case m.own.intake != nil:
		cfg.Router, cfg.Submitter = m.own.intake, m.own.intake
		cfg.MaxBodyBytes = min(cfg.MaxBodyBytes, kafka.DefaultMaxRecordBytes)
	case m.own.leases != nil:
		cfg.Router = leaseRouter{m.own.leases, m.db}
	}
}

// leaseRouter routes by lease (several processes, no Kafka).
type leaseRouter struct {
	leases *ownership.Leases
	db     *sqlstore.DB
}

func (r leaseRouter) Route(ctx context.Context, ws string, write bool) (string, error) {
	return r.leases.Route(ctx, ws, write, r.db.HasWorkspace)
}

func (r leaseRouter) TakeOver(ctx context.Context, ws string) error {
	return r.leases.TakeOver(ctx, ws)
}

// takeStored takes, before the restore, the leases of every stored
// workspace no other live process holds: those are the ones restored.
func (m *Main) takeStored(ctx context.Context) error {
	if m.own.leases == nil || m.own.intake != nil {
		return nil
	}
	ids, err := m.db.Workspaces(ctx)
	if err != nil {
		return err
	}
	taken, err := m.own.leases.Take(ctx, ids, false)
	if err != nil {
		return fmt.Errorf("take workspace leases: %w", err)
	}
	m.logger.Info("workspace leases taken", "taken", len(taken), "heldElsewhere", len(ids)-len(taken))
	return nil
}

// loadAdopted loads a workspace whose lease this process took over from
// one that stopped renewing it, so that its timers and jobs go on.
func (m *Main) loadAdopted(ws string) {
	m.own.wg.Go(func() {
		if _, err := m.engine.Load(context.Background(), ws); err != nil && !isNotFound(err) {
			m.logger.Warn("loading a workspace taken over failed; it loads when next touched", "workspace", ws, "err", err)
		}
	})
}

// startOwnership starts the lease renewals and the idle unloading.
func (m *Main) startOwnership() {
	ctx, cancel := context.WithCancel(context.Background())
	m.own.cancel = cancel
	if m.own.leases != nil {
		m.own.wg.Go(func() { m.own.leases.Run(ctx) })
	}
	if m.db != nil && m.cfg.WorkspaceIdle > 0 {
		m.own.wg.Go(func() { m.unloadIdle(ctx) })
	}
}

// unloadIdle unloads, every tenth of the idle time (at most a minute, at
// least 10 ms), the workspaces idle for longer.
func (m *Main) unloadIdle(ctx context.Context) {
	tick := time.NewTicker(min(max(m.cfg.WorkspaceIdle/10, 10*time.Millisecond), time.Minute))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if ids := m.engine.UnloadIdle(time.Now().Add(-m.cfg.WorkspaceIdle)); len(ids) > 0 {
			m.logger.Info("idle workspaces unloaded", "workspaces", len(ids), "idle", m.cfg.WorkspaceIdle)
		}
	}
}

// stopOwnership stops the renewals and gives up every lease held, so that
// the other processes take the workspaces at once.
func (m *Main) stopOwnership() {
	if m.own.cancel != nil {
		m.own.cancel()
	}
	m.own.wg.Wait()
	if m.own.leases != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.own.leases.ReleaseAll(ctx)
	}
	if m.own.lock != nil {
		_ = m.own.lock.Close()
	}
}

func isNotFound(err error) bool { return model.ErrorCode(err) == model.ENOTFOUND }

// consume runs the Kafka intake until ctx ends; done is closed then (at
// once without Kafka).
func (m *Main) consume(ctx context.Context, done chan struct{}) {
	if m.own.intake == nil {
		close(done)
		return
	}
	go func() {
		defer close(done)
		if err := m.own.intake.Run(ctx); err != nil {
			m.logger.Error("kafka intake stopped", "err", err)
		}
	}()
}

// leaveGroup leaves the Kafka group: the partitions go to the other
// members, this process's workspaces of them unloaded first. It is safe to
// call twice.
func (m *Main) leaveGroup() {
	if in := m.own.intake; in != nil {
		m.own.intake = nil
		in.Close()
	}
}

// validateOwnership checks the flags of ownership and Kafka.
func (c Config) validateOwnership() []error {
	var errs []error
	if c.LeaseTTL <= 0 || c.LeaseRenew <= 0 || c.LeaseRenew*2 > c.LeaseTTL {
		errs = append(errs, fmt.Errorf("--lease-ttl (GATEHOUSE_LEASE_TTL) and --lease-renew (GATEHOUSE_LEASE_RENEW): "+
			"both positive, renewals at most half the lease, got %s and %s", c.LeaseTTL, c.LeaseRenew))
	}
	if c.WorkspaceIdle < 0 {
		errs = append(errs, fmt.Errorf("--workspace-idle (GATEHOUSE_WORKSPACE_IDLE): must not be negative, got %s", c.WorkspaceIdle))
	}
	if len(c.KafkaBrokers) == 0 {
		return errs
	}
	if c.DB == "memory" {
		errs = append(errs, errors.New("--kafka-brokers (GATEHOUSE_KAFKA_BROKERS): needs a database to keep the partitions' "+
			"positions in; --db memory keeps nothing"))
	}
	if c.KafkaTopic == "" || c.KafkaGroup == "" {
		errs = append(errs, errors.New("--kafka-topic and --kafka-group (GATEHOUSE_KAFKA_TOPIC, GATEHOUSE_KAFKA_GROUP): must not be empty"))
	}
	if c.KafkaSessionTimeout <= 0 || c.KafkaRebalanceTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--kafka-session-timeout and --kafka-rebalance-timeout: must be positive, got %s and %s",
			c.KafkaSessionTimeout, c.KafkaRebalanceTimeout))
	}
	if c.KafkaAnswerTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--kafka-answer-timeout (GATEHOUSE_KAFKA_ANSWER_TIMEOUT): must be positive, got %s",
			c.KafkaAnswerTimeout))
	}
	return errs
}
