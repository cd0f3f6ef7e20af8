// Package kafka feeds the engine from a Kafka topic and takes HTTP writes
// onto it (github.com/twmb/franz-go).
//
// Records are keyed by workspace id, so a workspace's events come from one
// partition, in order; a record's value is what one HTTP events request
// carries (ctrlplane's envelope, or an array of them). The processes of a
// consumer group share the partitions: a process owns the workspaces of the
// partitions assigned to it (it takes their leases, by force: the group
// decides), loads them, and seeks each partition to the floor stored in the
// database. Records are applied with the workspace's position in the same
// transaction (engine.ApplyRecords), many per transaction, so that a record
// delivered again is recognised and its effects apply exactly once. A
// record that fails is a dead letter and the partition goes on; a database
// outage pauses consumption until the database is back. On revocation the
// records in hand finish (rebalances wait for them: BlockRebalanceOnPoll),
// then the workspaces are unloaded and their leases released.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/ownership"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// Defaults of Config.
const (
	DefaultTopic         = "gatehouse"
	DefaultGroup         = "gatehouse"
	DefaultAnswerTimeout = 30 * time.Second
	// DefaultMaxPollRecords bounds the records taken per poll: enough for
	// large transactions, few enough that a rebalance never waits long.
	DefaultMaxPollRecords = 10_000
	// DefaultMaxRecordBytes is the largest record produced for an HTTP
	// request, Kafka's default message.max.bytes.
	DefaultMaxRecordBytes = 1 << 20
)

// Positions is the database side: where partitions resume, who consumes
// them, which workspaces they feed, and what became of a record
// (sqlstore.DB).
type Positions interface {
	Partitions(ctx context.Context, topic string) (map[int32]sqlstore.Partition, error)
	ClaimPartitions(ctx context.Context, topic string, partitions []int32, owner, address string) error
	AdvancePartition(ctx context.Context, topic string, partition int32, next int64, orphans []*model.DeadLetter) error
	PartitionWorkspaces(ctx context.Context, topic string, partition int32) (fed, unfed []string, err error)
	FedFrom(ctx context.Context, ws, topic string) (int32, bool, error)
	RecordOutcome(ctx context.Context, ws string, pos model.LogPosition) (bool, *model.DeadLetter, error)
	HasWorkspace(ctx context.Context, ws string) (bool, error)
}

// Config wires an Intake.
type Config struct {
	Brokers []string
	Topic   string
	Group   string
	Engine  *engine.Engine
	DB      Positions
	// Leases are the workspace leases (PostgreSQL); nil with SQLite, whose
	// file belongs to this process alone.
	Leases *ownership.Leases
	// Owner and Address identify this process to the others: its owner id
	// and the address it serves the API at.
	Owner, Address string
	// AnswerTimeout bounds how long Submit waits for the owner to commit
	// a record; DefaultAnswerTimeout when zero.
	AnswerTimeout time.Duration
	// MaxPollRecords bounds the records applied per round;
	// DefaultMaxPollRecords when zero.
	MaxPollRecords int
	// MaxRecordBytes bounds what Submit produces; DefaultMaxRecordBytes
	// when zero.
	MaxRecordBytes int
	// SessionTimeout is how long the group waits for a silent member
	// before giving its partitions to the others (kgo's 45 s when zero);
	// heartbeats go three times as often, at most every 3 s.
	SessionTimeout time.Duration
	// RebalanceTimeout is how long a rebalance waits for every member to
	// finish its records in hand and rejoin (kgo's 60 s when zero): also
	// how long a member that dies during a rebalance holds it up.
	RebalanceTimeout time.Duration
	Logger           *slog.Logger
	// Registerer takes the metrics; none when nil.
	Registerer prometheus.Registerer
	// ClientOpts are added to the client's options (tests: dialers,
	// session timeouts).
	ClientOpts []kgo.Opt
}

// Intake consumes the topic into the engine and produces HTTP writes to it.
type Intake struct {
	cfg        Config
	log        *slog.Logger
	cl         *kgo.Client
	partitions int
	metrics    *metrics
	waiters    waiters
	// yield is set while a rebalance waits for the round in hand.
	yield atomic.Bool

	mu sync.Mutex
	// owned are the partitions assigned to this process, each with the
	// workspaces it holds for it.
	owned map[int32]map[string]bool
	// bg runs background loads after an assignment; Close waits for it.
	bg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// New connects to the brokers and checks that the topic exists; Run starts
// consuming.
func New(ctx context.Context, cfg Config) (*Intake, error) {
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.AnswerTimeout <= 0 {
		cfg.AnswerTimeout = DefaultAnswerTimeout
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = DefaultMaxPollRecords
	}
	if cfg.MaxRecordBytes <= 0 {
		cfg.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	in := &Intake{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registerer), owned: map[int32]map[string]bool{},
		waiters: waiters{m: map[model.LogPosition][]chan engine.RecordOutcome{}}}
	in.ctx, in.cancel = context.WithCancel(context.Background())
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(in.assigned),
		kgo.OnPartitionsRevoked(in.revoked),
		kgo.OnPartitionsLost(in.lost),
		kgo.AdjustFetchOffsetsFn(in.seek),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) { in.yield.Store(true) }),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerBatchMaxBytes(int32(cfg.MaxRecordBytes) + 1024),
	}, cfg.ClientOpts...)
	if cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout),
			kgo.HeartbeatInterval(min(3*time.Second, cfg.SessionTimeout/3)))
	}
	if cfg.RebalanceTimeout > 0 {
		opts = append(opts, kgo.RebalanceTimeout(cfg.RebalanceTimeout))
	}
	opts = append(opts, kgo.WithLogger(kgoLogger{in.log}))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		in.cancel()
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	in.cl = cl
	n, err := in.partitionCount(ctx)
	if err != nil {
		cl.Close()
		in.cancel()
		return nil, err
	}
	in.partitions = n
	return in, nil
}

// partitionCount asks the brokers how many partitions the topic has.
func (in *Intake) partitionCount(ctx context.Context) (int, error) {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(in.cfg.Topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, in.cl)
	if err != nil {
		return 0, fmt.Errorf("kafka brokers %v: %w", in.cfg.Brokers, err)
	}
	if len(resp.Topics) != 1 {
		return 0, fmt.Errorf("kafka: no metadata for topic %s", in.cfg.Topic)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		return 0, fmt.Errorf("kafka topic %s: %w (create it first, with as many partitions as processes may share it)",
			in.cfg.Topic, err)
	}
	return len(resp.Topics[0].Partitions), nil
}

// Partitions returns the number of partitions of the topic.
func (in *Intake) Partitions() int { return in.partitions }

// PartitionOf returns the partition a workspace's records are produced to:
// Kafka's own choice for the key (murmur2), as every Kafka client makes it.
func PartitionOf(ws string, partitions int) int32 {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("")
	return int32(p.Partition(&kgo.Record{Key: []byte(ws)}, partitions))
}

// Assigned returns the partitions assigned to this process.
func (in *Intake) Assigned() []int32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]int32, 0, len(in.owned))
	for p := range in.owned {
		out = append(out, p)
	}
	return out
}

// Close stops consuming and leaves the group: the partitions go to the
// other members (their workspaces are unloaded here first, see revoked).
// Records in hand finish first; call it after Run returned.
func (in *Intake) Close() {
	in.cancel()
	in.bg.Wait()
	in.cl.Close()
}

// errStopped ends a round when the engine takes no more events.
var errStopped = errors.New("intake stopped")

// errYield ends a round that a waiting rebalance should not wait for.
var errYield = errors.New("a rebalance is waiting")

// kgoLogger hands the Kafka client's warnings and errors to the process's
// log; its informational lines (every rebalance step) go at debug level.
type kgoLogger struct{ log *slog.Logger }

func (kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch level {
	case kgo.LogLevelError:
		l.log.Error("kafka client: "+msg, keyvals...)
	case kgo.LogLevelWarn:
		l.log.Warn("kafka client: "+msg, keyvals...)
	default:
		l.log.Debug("kafka client: "+msg, keyvals...)
	}
}
