package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/client/apply"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
	"github.com/gatehouse-dev/gatehouse/internal/client/output"
)

func newApplyCommand() *cobra.Command {
	var files []string
	var opt apply.Options
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR",
		Short: "Make the workspace hold what manifests declare",
		Long: `Apply reads YAML or JSON manifests (one entity per document), compares them
with the workspace and sends what differs as one batch of events. Applying
the same manifests twice changes nothing the second time.`,
		Example: `  gatehouse apply -f examples/
  gatehouse apply -f examples/ --dry-run
  gatehouse apply -f examples/ --prune`,
		Args: cobra.NoArgs,
	}
	conn := bindConn(cmd)
	cmd.RunE = conn.run(func(ctx context.Context, s *session, _ []string) error {
		docs, err := manifest.Load(files)
		if err != nil {
			return err
		}
		for _, f := range files {
			opt.Scope = append(opt.Scope, manifest.SourceName(f))
		}
		plan, err := apply.Run(ctx, s.client, docs, opt, dryRun)
		return writePlan(cmd, plan, dryRun, err)
	})
	fl := cmd.Flags()
	fl.StringArrayVarP(&files, "filename", "f", nil, "manifest file or directory (repeatable)")
	fl.BoolVar(&dryRun, "dry-run", false, "show what would change and send nothing")
	fl.BoolVar(&opt.Prune, "prune", false, "delete entities apply made from these paths that the manifests no longer hold")
	fl.BoolVar(&opt.ResendSecrets, "resend-secrets", false, "send every sensitive value again (they cannot be read back to compare)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func newDeleteCommand() *cobra.Command {
	var files []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "delete -f FILE|DIR",
		Short: "Delete the entities manifests declare",
		Example: `  gatehouse delete -f examples/api.yaml
  gatehouse delete -f examples/ --dry-run`,
		Args: cobra.NoArgs,
	}
	conn := bindConn(cmd)
	cmd.RunE = conn.run(func(ctx context.Context, s *session, _ []string) error {
		docs, err := manifest.Load(files)
		if err != nil {
			return err
		}
		plan, err := apply.Remove(ctx, s.client, docs, dryRun)
		return writePlan(cmd, plan, dryRun, err)
	})
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "manifest file or directory (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be deleted and send nothing")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// writePlan prints a plan that was carried out (or computed, on a dry
// run). A failed apply prints only its error, which says what was sent.
func writePlan(cmd *cobra.Command, plan *apply.Plan, dryRun bool, err error) error {
	if err != nil {
		return err
	}
	return output.WritePlan(cmd.OutOrStdout(), plan, dryRun)
}
