package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/output"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

func newExplainCommand() *cobra.Command {
	var versionRef, format string
	cmd := &cobra.Command{
		Use:   "explain TARGET [--version V]",
		Short: "Say why a release target runs what it runs, rule by rule",
		Long: `Explain shows a release target's current and desired version, then every
candidate version of its deployment, newest first, with the verdict of each
rule of each policy that applies to the target: passed, waiting (with the
time it is looked at again) or denied. TARGET is
DEPLOYMENT/ENVIRONMENT/RESOURCE by name, or the target's key.`,
		Example: `  gatehouse explain api/prod/eu-west-1
  gatehouse explain api/prod/eu-west-1 --version v1.4.0`,
		Args: cobra.ExactArgs(1),
	}
	conn := bindConn(cmd)
	cmd.RunE = conn.run(func(ctx context.Context, s *session, args []string) error {
		snap, t, err := s.target(ctx, args[0], "deployment-version")
		if err != nil {
			return err
		}
		versions, err := candidates(ctx, s.client, snap, t, versionRef)
		if err != nil {
			return err
		}
		x := output.Explanation{Target: *t}
		for _, v := range versions {
			ev, err := s.client.Evaluate(ctx, t.Key, v.ID)
			if err != nil {
				return fmt.Errorf("evaluate %s: %w", v.Tag, err)
			}
			x.Evaluations = append(x.Evaluations, ev)
		}
		switch format {
		case "text":
			return output.WriteExplanation(cmd.OutOrStdout(), x, snap)
		case output.JSON, output.YAML:
			return output.Encode(cmd.OutOrStdout(), format, map[string]any{"releaseTarget": x.Target, "evaluations": x.Evaluations})
		}
		return fmt.Errorf("unknown output format %q (want text, json or yaml)", format)
	})
	cmd.Flags().StringVar(&versionRef, "version", "", "explain this version only (tag or id)")
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text, json or yaml")
	return cmd
}

// candidates returns the versions to explain: the one named, or every
// version of the target's deployment, newest first (ties: id descending),
// the order the engine considers them in.
func candidates(ctx context.Context, c *client.Client, snap *workspace.Snapshot, t *client.ReleaseTarget, ref string) ([]client.Version, error) {
	if ref != "" {
		id, err := snap.Resolve("deployment-version", ref, t.DeploymentID)
		if err != nil {
			return nil, err
		}
		return []client.Version{{ID: id}}, nil
	}
	all, err := client.ListOf[client.Version](ctx, c, client.DeploymentVersions, nil)
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(v client.Version) bool { return v.DeploymentID != t.DeploymentID })
	slices.SortFunc(all, func(a, b client.Version) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return all, nil
}
