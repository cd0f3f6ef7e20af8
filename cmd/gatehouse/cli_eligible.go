package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/client/output"
)

func newEligibleCommand() *cobra.Command {
	var exclude []string
	var filter, format string
	cmd := &cobra.Command{
		Use:   "eligible TARGET",
		Short: "List the versions a release target may deploy now",
		Long: `Eligible lists, newest first, the versions of a release target's deployment
that pass every rule of its policies now. --exclude-rules answers what would
be eligible if some rules (by id or kind: anyApproval, versionCooldown, …)
were skipped; --filter narrows the list with CEL over version. TARGET is
DEPLOYMENT/ENVIRONMENT/RESOURCE by name, or the target's key.`,
		Example: `  gatehouse eligible api/prod/eu-west-1
  gatehouse eligible api/prod/eu-west-1 --exclude-rules anyApproval
  gatehouse eligible api/prod/eu-west-1 --filter 'version.metadata["branch"] == "main"'`,
		Args: cobra.ExactArgs(1),
	}
	conn := bindConn(cmd)
	cmd.RunE = conn.run(func(ctx context.Context, s *session, args []string) error {
		if !slices.Contains([]string{"table", "wide", output.JSON, output.YAML}, format) {
			return fmt.Errorf("unknown output format %q (want table, wide, json or yaml)", format)
		}
		snap, t, err := s.target(ctx, args[0])
		if err != nil {
			return err
		}
		items, err := s.client.EligibleVersions(ctx, t.Key, exclude, filter)
		if err != nil {
			return err
		}
		if format == output.JSON || format == output.YAML {
			return output.Encode(cmd.OutOrStdout(), format, items)
		}
		table, err := output.EligibleTable(items, snap)
		if err != nil {
			return err
		}
		return table.Write(cmd.OutOrStdout(), format == "wide")
	})
	fl := cmd.Flags()
	fl.StringSliceVar(&exclude, "exclude-rules", nil, "rule ids or kinds to evaluate as if skipped (comma-separated or repeated)")
	fl.StringVar(&filter, "filter", "", "CEL over version; only the versions it matches")
	fl.StringVarP(&format, "output", "o", "table", "output format: table, wide, json or yaml")
	return cmd
}
