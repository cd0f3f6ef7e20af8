package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/user"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

func newApproveCommand() *cobra.Command {
	var environment, deployment, reason, userID string
	var reject bool
	cmd := &cobra.Command{
		Use:   "approve VERSION --environment ENV",
		Short: "Approve a version for an environment",
		Long: `Approve records a user's approval of a version for an environment, which
anyApproval rules count. VERSION is a tag (with --deployment, or as
DEPLOYMENT/TAG, when several deployments have it) or an id. The approval is
recorded for --user, else GATEHOUSE_USER, else the context's user; else, with
a named token (serve --tokens-file), for the token's holder, and otherwise
for the login name.`,
		Example: `  gatehouse approve api/v1.4.0 --environment prod --reason "change 1234"
  gatehouse approve v1.4.0 --deployment api --environment prod`,
		Args: cobra.ExactArgs(1),
	}
	conn := bindConn(cmd)
	cmd.RunE = conn.run(func(ctx context.Context, s *session, args []string) error {
		snap, err := workspace.Read(ctx, s.client, "deployment", "deployment-version", "environment")
		if err != nil {
			return err
		}
		versionID, err := snap.Resolve("deployment-version", args[0], deployment)
		if err != nil {
			return err
		}
		envID, err := snap.Resolve("environment", environment, "")
		if err != nil {
			return err
		}
		status := "approved"
		if reject {
			status = "rejected"
		}
		record := map[string]any{"versionId": versionID, "environmentId": envID, "status": status}
		if reason != "" {
			record["reason"] = reason
		}
		who := cmp.Or(userID, s.conn.User)
		if who == "" && s.conn.Token != "" {
			// A named token's holder is who the server records, and any other
			// name (the login name) is refused; so ask without a name first.
			// Only a server that knows no name for the token wants one.
			err := sendOne(ctx, s.client, "user-approval-record.created", record)
			if !wantsUserID(err) {
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s for %s as the token's holder\n", status,
					snap.Name("deployment-version", versionID), snap.Name("environment", envID))
				return nil
			}
		}
		who, err = approver(who)
		if err != nil {
			return err
		}
		record["userId"] = who
		if err := sendOne(ctx, s.client, "user-approval-record.created", record); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s for %s as %s\n", status, snap.Name("deployment-version", versionID),
			snap.Name("environment", envID), who)
		return nil
	})
	fl := cmd.Flags()
	fl.StringVar(&environment, "environment", "", "environment the approval is for (name or id)")
	fl.StringVar(&deployment, "deployment", "", "deployment of the version, when the tag alone is ambiguous")
	fl.StringVar(&reason, "reason", "", "why, for the record")
	fl.StringVar(&userID, "user", "", "who approves (GATEHOUSE_USER; default the context's user, else a named token's holder, else the login name)")
	fl.BoolVar(&reject, "reject", false, "record a rejection instead of an approval")
	_ = cmd.MarkFlagRequired("environment")
	return cmd
}

// approver returns who an approval is recorded for: the name given (flag,
// environment or context), else the login name.
func approver(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	return "", errors.New("no user to record the approval for: pass --user or set GATEHOUSE_USER")
}

// wantsUserID reports whether err is the server's refusal of an approval
// that names no user: the token sent has no name of its own.
func wantsUserID(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest && apiErr.Field == "userApprovalRecord.userId"
}

func newRedeployCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "redeploy TARGET",
		Short: "Deploy a release target's release again",
		Long: `Redeploy asks for a new job for the target's desired release (its current
release when none is desired), skipping the policy checks. TARGET is
DEPLOYMENT/ENVIRONMENT/RESOURCE by name, or the target's key. The server
refuses while the target has a job under way.`,
		Example: `  gatehouse redeploy api/prod/eu-west-1`,
		Args:    cobra.ExactArgs(1),
	}
	conn := bindConn(cmd)
	cmd.RunE = conn.run(func(ctx context.Context, s *session, args []string) error {
		snap, t, err := s.target(ctx, args[0])
		if err != nil {
			return err
		}
		if err := sendOne(ctx, s.client, "release-target.deploy", t.TargetRef); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "redeploy of %s/%s/%s requested\n", snap.Name("deployment", t.DeploymentID),
			snap.Name("environment", t.EnvironmentID), snap.Name("resource", t.ResourceID))
		return nil
	})
	return cmd
}

// sendOne sends one event. Its id is new for each command run, so that a
// retried request is recognised and a second run is a second action.
func sendOne(ctx context.Context, c *client.Client, eventType string, data any) error {
	body, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", eventType, err)
	}
	_, err = c.Send(ctx, []client.Event{{EventType: eventType, EventID: uuid.NewString(), Data: body}})
	return err
}
