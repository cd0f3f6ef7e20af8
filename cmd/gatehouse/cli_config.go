package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/client/config"
	"github.com/gatehouse-dev/gatehouse/internal/client/output"
)

func newConfigCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage the contexts of the config file (server, token, workspace)",
		Long: `The config file (~/.config/gatehouse/config.yaml, or GATEHOUSE_CONFIG) names
servers as contexts. Commands use the current context for what flags and
GATEHOUSE_* variables leave unset.`,
	}
	cmd.PersistentFlags().StringVar(&path, "config", "", "config file (GATEHOUSE_CONFIG; default ~/.config/gatehouse/config.yaml)")
	file := func() string {
		if path != "" {
			return path
		}
		return config.DefaultPath()
	}
	cmd.AddCommand(newUseContextCommand(file), newSetContextCommand(file), newGetContextsCommand(file))
	return cmd
}

func newUseContextCommand(file func() string) *cobra.Command {
	return &cobra.Command{
		Use:     "use-context NAME",
		Short:   "Make a context the current one",
		Example: "  gatehouse config use-context prod",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := config.Load(file())
			if err != nil {
				return err
			}
			if err := f.Use(args[0]); err != nil {
				return err
			}
			if err := f.Save(file()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "current context: %s\n", args[0])
			return nil
		},
	}
}

func newSetContextCommand(file func() string) *cobra.Command {
	var c config.Context
	var use bool
	cmd := &cobra.Command{
		Use:   "set-context NAME [--server URL] [--token T] [--workspace ID] [--user U]",
		Short: "Add a context, or change the fields given of an existing one",
		Example: `  gatehouse config set-context local --server http://127.0.0.1:8080 \
      --workspace 11111111-1111-1111-1111-111111111111 --use`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := config.Load(file())
			if err != nil {
				return err
			}
			c.Name = args[0]
			f.Set(c)
			if use || f.CurrentContext == "" {
				f.CurrentContext = c.Name
			}
			if err := f.Save(file()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "context %s saved in %s\n", c.Name, file())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.Server, "server", "", "server URL")
	fl.StringVar(&c.Token, "token", "", "bearer token")
	fl.StringVar(&c.Workspace, "workspace", "", "workspace id")
	fl.StringVar(&c.User, "user", "", "who approvals are recorded for")
	fl.BoolVar(&use, "use", false, "make it the current context")
	return cmd
}

func newGetContextsCommand(file func() string) *cobra.Command {
	return &cobra.Command{
		Use:     "get-contexts",
		Short:   "List the contexts (tokens are not shown)",
		Example: "  gatehouse config get-contexts",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := config.Load(file())
			if err != nil {
				return err
			}
			t := &output.Table{Columns: []output.Column{{Header: "Current"}, {Header: "Name"}, {Header: "Server"},
				{Header: "Workspace"}, {Header: "User"}, {Header: "Token"}}, Empty: "No contexts in " + file() + "."}
			for _, c := range f.Contexts {
				current, token := "", "none"
				if c.Name == f.CurrentContext {
					current = "*"
				}
				if c.Token != "" {
					token = "set"
				}
				t.Add(current, c.Name, c.Server, c.Workspace, c.User, token)
			}
			return t.Write(cmd.OutOrStdout(), false)
		},
	}
}
