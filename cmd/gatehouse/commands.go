package main

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse decides which version goes to which target, and when.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(), newMigrateCommand())
	root.AddCommand(newApplyCommand())
	root.AddCommand(newDeleteCommand())
	root.AddCommand(newGetCommand())
	root.AddCommand(newApproveCommand())
	root.AddCommand(newRedeployCommand())
	root.AddCommand(newExplainCommand())
	root.AddCommand(newVersionCommand())
	root.AddCommand(newConfigCommand())
	return root
}

func newServeCommand() *cobra.Command {
	cfg := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (events in, state out)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := Open(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer m.Close()
			return m.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (GATEHOUSE_ADDR)")
	f.StringVar(&cfg.DB, "db", cfg.DB, "database: memory, sqlite:PATH or postgres://... (GATEHOUSE_DB)")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest accepted request body (GATEHOUSE_MAX_BODY_BYTES)")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json (GATEHOUSE_LOG_FORMAT)")
	f.StringVar(&cfg.Token, "token", cfg.Token, "bearer token required on /v1 requests; none when empty (GATEHOUSE_TOKEN)")
	bindEnv(f)
	return cmd
}

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
	bindEnv(cmd.Flags())
	return cmd
}

// bindEnv gives every flag a GATEHOUSE_<NAME> environment variable, used
// when the flag is not set on the command line.
func bindEnv(f *pflag.FlagSet) {
	f.VisitAll(func(fl *pflag.Flag) {
		name := "GATEHOUSE_" + envName(fl.Name)
		if v, ok := os.LookupEnv(name); ok && !fl.Changed {
			_ = fl.Value.Set(v)
			fl.DefValue = v
		}
	})
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
