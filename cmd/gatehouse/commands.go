package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/internal/memlimit"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse decides which version goes to which target, and when.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(), newMigrateCommand(), newResealCommand(), newKafkaDevCommand())
	root.AddCommand(newApplyCommand())
	root.AddCommand(newDeleteCommand())
	root.AddCommand(newGetCommand())
	root.AddCommand(newApproveCommand())
	root.AddCommand(newRedeployCommand())
	root.AddCommand(newExplainCommand())
	root.AddCommand(newPlanCommand())
	root.AddCommand(newEligibleCommand())
	root.AddCommand(newVersionCommand())
	root.AddCommand(newConfigCommand())
	return root
}

func newServeCommand() *cobra.Command {
	cfg := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (events in, state out)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), cfg) },
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (GATEHOUSE_ADDR)")
	f.StringVar(&cfg.DB, "db", cfg.DB, "database: memory, sqlite:PATH or postgres://... (GATEHOUSE_DB)")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest accepted request body (GATEHOUSE_MAX_BODY_BYTES)")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json (GATEHOUSE_LOG_FORMAT)")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "least severe level logged: debug, info, warn or error (GATEHOUSE_LOG_LEVEL)")
	f.StringVar(&cfg.Token, "token", cfg.Token, "bearer token required on /v1 requests; none when empty (GATEHOUSE_TOKEN)")
	f.StringVar(&cfg.TokensFile, "tokens-file", "",
		"YAML or JSON list of named tokens [{name, token or sha256, groups}] also taken on /v1 requests (GATEHOUSE_TOKENS_FILE)")
	f.DurationVar(&cfg.DBTimeout, "db-timeout", cfg.DBTimeout, "longest the database may take to answer one statement or query (GATEHOUSE_DB_TIMEOUT)")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout,
		"longest the events in hand may take to commit on shutdown (GATEHOUSE_SHUTDOWN_TIMEOUT)")
	f.BoolVar(&cfg.VerificationAllowPrivate, "verification-allow-private", cfg.VerificationAllowPrivate,
		"let verification metrics connect to loopback, private and link-local addresses (GATEHOUSE_VERIFICATION_ALLOW_PRIVATE)")
	f.DurationVar(&cfg.EventIDRetention, "event-id-retention", cfg.EventIDRetention,
		"how long event ids are remembered, so that a redelivery changes nothing (GATEHOUSE_EVENT_ID_RETENTION)")
	f.StringVar(&cfg.GitHubWebhookSecret, "github-webhook-secret", "",
		"secret of GitHub workflow_run webhooks at /v1/webhooks/github; the route is off without it (GATEHOUSE_GITHUB_WEBHOOK_SECRET)")
	f.StringVar(&cfg.AdvertiseAddr, "advertise-addr", "",
		"address the other processes reach this one's API at, for requests they forward; the listen address when empty (GATEHOUSE_ADVERTISE_ADDR)")
	f.DurationVar(&cfg.LeaseTTL, "lease-ttl", cfg.LeaseTTL, "how long a workspace lease lasts unless renewed, PostgreSQL (GATEHOUSE_LEASE_TTL)")
	f.DurationVar(&cfg.LeaseRenew, "lease-renew", cfg.LeaseRenew, "how often workspace leases are renewed (GATEHOUSE_LEASE_RENEW)")
	f.DurationVar(&cfg.WorkspaceIdle, "workspace-idle", cfg.WorkspaceIdle,
		"unload a workspace holding nothing after this long untouched; 0 never (GATEHOUSE_WORKSPACE_IDLE)")
	f.StringSliceVar(&cfg.KafkaBrokers, "kafka-brokers", nil,
		"Kafka bootstrap brokers, host:port,...: events come from --kafka-topic and HTTP events go there (GATEHOUSE_KAFKA_BROKERS)")
	f.StringVar(&cfg.KafkaTopic, "kafka-topic", cfg.KafkaTopic, "Kafka topic of workspace events, keyed by workspace id (GATEHOUSE_KAFKA_TOPIC)")
	f.StringVar(&cfg.KafkaGroup, "kafka-group", cfg.KafkaGroup, "Kafka consumer group the processes share (GATEHOUSE_KAFKA_GROUP)")
	f.DurationVar(&cfg.KafkaAnswerTimeout, "kafka-answer-timeout", cfg.KafkaAnswerTimeout,
		"with Kafka, how long an HTTP events request waits for its owner to commit before 504 (GATEHOUSE_KAFKA_ANSWER_TIMEOUT)")
	f.DurationVar(&cfg.KafkaSessionTimeout, "kafka-session-timeout", cfg.KafkaSessionTimeout,
		"how long the consumer group waits for a silent process before moving its partitions (GATEHOUSE_KAFKA_SESSION_TIMEOUT)")
	f.DurationVar(&cfg.KafkaRebalanceTimeout, "kafka-rebalance-timeout", cfg.KafkaRebalanceTimeout,
		"how long a rebalance waits for every process to finish its records in hand; a process dying mid-rebalance holds it up this long (GATEHOUSE_KAFKA_REBALANCE_TIMEOUT)")
	cmd.PreRunE = func(*cobra.Command, []string) error { return bindEnv(f) }
	return cmd
}

// serve runs the server as `gatehouse serve` does. Everything it reports,
// its failure included, goes through its logger: once the configuration
// is valid, the error it returns has been logged (see loggedError).
func serve(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.Logger = newLogger(cfg)
	routeLibraryLogs(cfg.Logger)
	if limit := memlimit.Apply("/sys/fs/cgroup"); limit > 0 {
		cfg.Logger.Info("memory limit from the container", "goMemLimitBytes", limit)
	}
	m, err := Open(ctx, cfg)
	if err == nil {
		defer m.Close()
		err = m.Run(ctx)
	}
	if err != nil {
		cfg.Logger.Error("serve failed", "err", err)
		return loggedError{err}
	}
	return nil
}

// loggedError is an error already logged, which main does not print again.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

func newMigrateCommand() *cobra.Command {
	cfg := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Migrate(cmd.Context(), cfg.DB)
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", cfg.DB, "database: sqlite:PATH or postgres://... (GATEHOUSE_DB)")
	cmd.PreRunE = func(*cobra.Command, []string) error { return bindEnv(cmd.Flags()) }
	return cmd
}

func newResealCommand() *cobra.Command {
	def := DefaultConfig()
	cfg := resealConfig{DB: def.DB, DBTimeout: def.DBTimeout}
	cmd := &cobra.Command{
		Use:   "reseal",
		Short: "Seal every sensitive value again with a new encryption key (the server stopped)",
		Long: "Opens every sealed value of the database with the old key, held by the variable --old-key-env names,\n" +
			"and seals it with the new one in " + envEncryptionKey + ", one transaction per workspace;\n" +
			"then records the new key. Stop every server on the database first; start them with the new key after.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReseal(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", cfg.DB, "database: sqlite:PATH or postgres://... (GATEHOUSE_DB)")
	f.StringVar(&cfg.OldKeyEnv, "old-key-env", "", "name of the environment variable holding the old key")
	f.DurationVar(&cfg.DBTimeout, "db-timeout", cfg.DBTimeout, "longest the database may take to answer one statement (GATEHOUSE_DB_TIMEOUT)")
	cmd.PreRunE = func(*cobra.Command, []string) error { return bindEnv(f) }
	return cmd
}

// secretFlags hold credentials: their values are never echoed.
var secretFlags = map[string]bool{"token": true, "db": true, "github-webhook-secret": true}

// bindEnv gives every flag not set on the command line the value of its
// GATEHOUSE_<NAME> environment variable, parsed as the flag parses it: a
// value that does not parse fails, naming the variable. It runs after the
// flags are parsed; the defaults --help shows stay the built-in ones, so
// that a secret from the environment never appears there.
func bindEnv(f *pflag.FlagSet) error {
	var errs []error
	f.VisitAll(func(fl *pflag.Flag) {
		name := "GATEHOUSE_" + envName(fl.Name)
		v, ok := os.LookupEnv(name)
		if !ok || fl.Changed {
			return
		}
		if err := fl.Value.Set(v); err != nil {
			shown := fmt.Sprintf("%q", v)
			if secretFlags[fl.Name] {
				shown = "(not shown)"
			}
			errs = append(errs, fmt.Errorf("%s: %s is not a valid --%s: %w", name, shown, fl.Name, err))
		}
	})
	return errors.Join(errs...)
}

func envName(flag string) string {
	out := []byte(flag)
	for i, c := range out {
		switch {
		case c == '-':
			out[i] = '_'
		case c >= 'a' && c <= 'z':
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out)
}
