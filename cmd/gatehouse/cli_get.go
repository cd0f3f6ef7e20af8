package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
	"github.com/gatehouse-dev/gatehouse/internal/client/output"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

// getFlags are get's filters and output format.
type getFlags struct {
	output                                    string
	deployment, environment, resource, status string
}

func newGetCommand() *cobra.Command {
	f := &getFlags{}
	cmd := &cobra.Command{
		Use:   "get KIND [NAME]",
		Short: "Show entities, release targets or jobs",
		Long: "Get lists the entities of a kind, or shows one by name (or id).\n\nKinds: " +
			strings.Join(output.ViewNames(), ", ") + " (plurals and short forms work too).",
		Example: `  gatehouse get targets
  gatehouse get targets --environment prod -o wide
  gatehouse get jobs --status pending
  gatehouse get versions --deployment api
  gatehouse get deployment api -o yaml`,
		Args: cobra.RangeArgs(1, 2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return output.ViewNames(), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
	conn := bindConn(cmd)
	cmd.RunE = conn.run(func(ctx context.Context, s *session, args []string) error {
		return f.run(ctx, cmd, s, args)
	})
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table, wide, json or yaml")
	fl.StringVar(&f.deployment, "deployment", "", "only those of this deployment (name or id)")
	fl.StringVar(&f.environment, "environment", "", "only those of this environment (name or id)")
	fl.StringVar(&f.resource, "resource", "", "only those of this resource (name, identifier or id)")
	fl.StringVar(&f.status, "status", "", "only those in this status (jobs, versions, approvals)")
	return cmd
}

func (f *getFlags) run(ctx context.Context, cmd *cobra.Command, s *session, args []string) error {
	view := output.ViewNamed(args[0])
	if view == nil {
		return fmt.Errorf("unknown kind %q; kinds: %s", args[0], strings.Join(output.ViewNames(), ", "))
	}
	if !slices.Contains([]string{"table", "wide", output.JSON, output.YAML}, f.output) {
		return fmt.Errorf("unknown output format %q (want table, wide, json or yaml)", f.output)
	}
	snap, err := workspace.Read(ctx, s.client, f.needs(view)...)
	if err != nil {
		return err
	}
	filter, err := f.filter(snap)
	if err != nil {
		return err
	}
	var items []json.RawMessage
	if len(args) == 2 {
		raw, err := f.one(ctx, s, snap, view, args[1])
		if err != nil {
			return err
		}
		if f.output == output.JSON || f.output == output.YAML {
			return output.Encode(cmd.OutOrStdout(), f.output, raw)
		}
		items = []json.RawMessage{raw}
	} else if items, err = f.list(ctx, s, view, filter); err != nil {
		return err
	}
	if f.output == output.JSON || f.output == output.YAML {
		return output.Encode(cmd.OutOrStdout(), f.output, items)
	}
	var notes map[string]string
	if view.Notes != nil {
		if notes, err = view.Notes(ctx, s.client, items); err != nil {
			return err
		}
	}
	t, err := view.Table(items, snap, notes)
	if err != nil {
		return err
	}
	return t.Write(cmd.OutOrStdout(), f.output == "wide")
}

// needs returns the kinds to read for names: those the table shows, those
// the filters name, and the kind itself when it is named.
func (f *getFlags) needs(view *output.View) []string {
	kinds := slices.Clone(view.Needs)
	for kind, set := range map[string]bool{"deployment": f.deployment != "", "environment": f.environment != "", "resource": f.resource != ""} {
		if set {
			kinds = append(kinds, kind)
		}
	}
	if manifest.KindNamed(view.Kind) != nil {
		kinds = append(kinds, view.Kind)
	}
	slices.Sort(kinds)
	return slices.Compact(kinds)
}

// filter turns the filter flags into ids.
func (f *getFlags) filter(snap *workspace.Snapshot) (client.Filter, error) {
	out := client.Filter{Status: f.status}
	for _, p := range []struct {
		kind, ref string
		dst       *string
	}{{"deployment", f.deployment, &out.DeploymentID}, {"environment", f.environment, &out.EnvironmentID},
		{"resource", f.resource, &out.ResourceID}} {
		if p.ref == "" {
			continue
		}
		id, err := snap.Resolve(p.kind, p.ref, "")
		if err != nil {
			return client.Filter{}, fmt.Errorf("--%s: %w", p.kind, err)
		}
		*p.dst = id
	}
	return out, nil
}

// list lists a view's collection. Jobs and release targets are filtered by
// the server; other kinds here, on their top-level fields.
func (f *getFlags) list(ctx context.Context, s *session, view *output.View, filter client.Filter) ([]json.RawMessage, error) {
	if view.Collection == client.ReleaseTargets && filter.Status != "" {
		return nil, fmt.Errorf("--status filters jobs, versions and approvals; release targets have no status of their own")
	}
	serverSide := view.Collection == client.Jobs || view.Collection == client.ReleaseTargets
	query := filter.Values()
	if !serverSide {
		query = nil
	}
	items, err := s.client.List(ctx, view.Collection, query)
	if client.IsStatus(err, http.StatusNotFound) {
		// Only a workspace the server does not hold yet makes a list 404.
		return nil, nil
	}
	if err != nil || serverSide {
		return items, err
	}
	return filterItems(view.Kind, items, filter.Values())
}

// filterItems keeps the items whose fields equal the filter's values.
func filterItems(kind string, items []json.RawMessage, want map[string][]string) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for _, raw := range items {
		var item map[string]any
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kind, err)
		}
		keep := true
		for field, values := range want {
			v, ok := item[field]
			if !ok {
				return nil, fmt.Errorf("a %s has no %s to filter on", kind, field)
			}
			keep = keep && v == values[0]
		}
		if keep {
			out = append(out, raw)
		}
	}
	return out, nil
}

// one reads the entity name names.
func (f *getFlags) one(ctx context.Context, s *session, snap *workspace.Snapshot, view *output.View, name string) (json.RawMessage, error) {
	switch view.Collection {
	case client.ReleaseTargets:
		t, err := workspace.ResolveTarget(ctx, s.client, snap, name)
		if err != nil {
			return nil, err
		}
		return s.client.Get(ctx, client.ReleaseTargets, t.Key)
	case client.Jobs:
		return s.client.Get(ctx, client.Jobs, name)
	}
	if manifest.KindNamed(view.Kind) == nil {
		// Kinds no manifest declares (freezes, variable sets) are named by id.
		return s.client.Get(ctx, view.Collection, name)
	}
	key, err := snap.Resolve(view.Kind, name, f.deployment)
	if err != nil {
		return nil, err
	}
	return s.client.Get(ctx, view.Collection, key)
}
