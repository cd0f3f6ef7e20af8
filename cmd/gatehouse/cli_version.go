package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/client/output"
)

// Set at link time, for builds that know better than the module's build
// information: go build -ldflags "-X main.version=v1.2.0 -X main.commit=abc123".
var (
	version string
	commit  string
)

// buildInfo is what `gatehouse version` reports.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// readBuildInfo combines the module's build information with the link-time
// overrides.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", Go: "unknown"}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.Go = info.GoVersion
		if v := info.Main.Version; v != "" {
			b.Version = v
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		b.Version = version
	}
	if commit != "" {
		b.Commit, b.Modified = commit, false
	}
	return b
}

// buildVersion is the version alone, for the User-Agent.
func buildVersion() string { return readBuildInfo().Version }

func newVersionCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and Go version of this binary",
		Example: "  gatehouse version\n  gatehouse version -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := readBuildInfo()
			if format != "text" {
				return output.Encode(cmd.OutOrStdout(), format, b)
			}
			commit := b.Commit
			if commit == "" {
				commit = "unknown"
			} else if b.Modified {
				commit += " (modified)"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "gatehouse %s\ncommit     %s\ngo         %s\n", b.Version, commit, b.Go)
			return err
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text, json or yaml")
	return cmd
}
