package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/client/output"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

func newPlanCommand() *cobra.Command {
	var file, tag, format string
	cmd := &cobra.Command{
		Use:   "plan DEPLOYMENT (-f VERSION_FILE | --tag TAG)",
		Short: "Show what a version would change on each release target, without creating it",
		Long: `Plan asks the server for a dry run of a version of DEPLOYMENT (name or id)
that is not created: for each release target, the release it would make and,
for each agent its job would go to, what the job would be given next to what
the job that deployed the current release was given, as a line diff. The
version is a YAML or JSON file (tag, name, config, jobAgentConfig, metadata;
"-" reads standard input), or just --tag. Nothing but the plan is stored, and
secrets are never opened: they show as their hash.`,
		Example: `  gatehouse plan api --tag v1.5.0
  gatehouse plan api -f version.yaml
  gatehouse plan api -f version.yaml -o json`,
		Args: cobra.ExactArgs(1),
	}
	conn := bindConn(cmd)
	cmd.RunE = conn.run(func(ctx context.Context, s *session, args []string) error {
		version, err := plannedVersion(cmd.InOrStdin(), file, tag)
		if err != nil {
			return err
		}
		snap, err := workspace.Read(ctx, s.client, "deployment")
		if err != nil {
			return err
		}
		depID, err := snap.Resolve("deployment", args[0], "")
		if err != nil {
			return err
		}
		// The plan's id is chosen here, so that a retried request finds
		// the plan made instead of making a second.
		body, err := json.Marshal(map[string]any{"id": uuid.NewString(), "version": version})
		if err != nil {
			return err
		}
		raw, plan, err := s.client.PlanDeployment(ctx, depID, body)
		if err != nil {
			return err
		}
		switch format {
		case "text":
			return output.WriteDeploymentPlan(cmd.OutOrStdout(), plan, snap)
		case output.JSON, output.YAML:
			return output.Encode(cmd.OutOrStdout(), format, raw)
		}
		return fmt.Errorf("unknown output format %q (want text, json or yaml)", format)
	})
	fl := cmd.Flags()
	fl.StringVarP(&file, "filename", "f", "", `the version to plan, YAML or JSON ("-" for standard input)`)
	fl.StringVar(&tag, "tag", "", "the version's tag (overrides the file's)")
	fl.StringVarP(&format, "output", "o", "text", "output format: text, json or yaml")
	return cmd
}

// plannedVersion reads the version to plan from file (YAML or JSON) and
// tag; one of them must give a tag.
func plannedVersion(stdin io.Reader, file, tag string) (map[string]any, error) {
	version := map[string]any{}
	if file != "" {
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, fmt.Errorf("read the version: %w", err)
		}
		if err := yaml.Unmarshal(data, &version); err != nil {
			return nil, fmt.Errorf("%s: not a version in YAML or JSON: %w", file, err)
		}
	}
	if tag != "" {
		version["tag"] = tag
	}
	if t, _ := version["tag"].(string); t == "" {
		return nil, fmt.Errorf("the version needs a tag: pass --tag or give one in the file")
	}
	return version, nil
}
