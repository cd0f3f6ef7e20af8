package main

import (
	"encoding/json"
	"os/user"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/client/clienttest"
)

// rollout applies the examples and plays the runner for api: its dev jobs
// succeed, then its staging jobs, so that api waits for an approval in prod
// while web is still pending in dev.
func rollout(t *testing.T) *cli { t.Helper(); return rolloutWith(t, clienttest.Options{}, "") }

// rolloutWith is rollout against a server with opt, the CLI sending token.
func rolloutWith(t *testing.T, opt clienttest.Options, token string) *cli {
	t.Helper()
	c := newCLI(t, opt)
	if token != "" {
		c.token = token
	}
	dir := examplesIn(t)
	c.must("apply", "-f", dir)
	c.srv.Advance(5 * time.Minute)
	c.succeed("api", "dev")
	c.srv.Advance(5 * time.Minute)
	c.succeed("api", "staging")
	c.srv.Advance(time.Minute)
	return c
}

// succeed reports every pending job of a deployment in an environment as
// successful, as its runner would.
func (c *cli) succeed(deployment, environment string) {
	c.t.Helper()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	c.srv.Get(testWorkspace, c.token, "jobs?status=pending&deploymentId="+idOf(c.t, c, "deployment", deployment)+
		"&environmentId="+idOf(c.t, c, "environment", environment), &page)
	if len(page.Items) == 0 {
		c.t.Fatalf("no pending jobs of %s in %s", deployment, environment)
	}
	for _, j := range page.Items {
		c.send(map[string]any{"eventType": "job.updated", "data": map[string]any{"id": j.ID,
			"job":            map[string]any{"status": "successful", "completedAt": c.srv.Now().Format(time.RFC3339)},
			"fieldsToUpdate": []string{"status", "completedAt"}}})
	}
}

func TestGet_TablesForPeople(t *testing.T) {
	c := rollout(t)
	for _, tc := range []struct{ golden, args string }{
		{"get_targets", "get targets"},
		{"get_targets_prod_wide", "get targets --environment prod --deployment api -o wide"},
		{"get_jobs_api_staging", "get jobs --deployment api --environment staging"},
		{"get_deployments_wide", "get deployments -o wide"},
		{"get_resources", "get resources"},
		{"get_resources_wide", "get res -o wide"},
		{"get_versions", "get versions"},
		{"get_policies", "get policies"},
		{"get_environments", "get environments"},
		{"get_variables", "get variables --deployment api"},
		{"get_values", "get values"},
		{"get_agents", "get job-agents"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, err := c.run(strings.Fields(tc.args)...)
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.args, err, out)
			}
			golden(t, tc.golden, out)
		})
	}
}

func TestExplain_EveryRuleWithTimes(t *testing.T) {
	c := rollout(t)
	c.send(map[string]any{"eventType": "deployment-version.created", "data": map[string]any{"id": "api-v1.1.0", "tag": "v1.1.0",
		"deploymentId": idOf(t, c, "deployment", "api"), "status": "building", "config": map[string]any{}, "jobAgentConfig": map[string]any{}}})
	golden(t, "explain_prod", c.must("explain", "api/prod/prod-eu-west-1"))
	golden(t, "explain_staging_version", c.must("explain", "api/staging/staging-us-east-1", "--version", "v1.0.0"))

	var x struct {
		Evaluations []struct {
			Version struct {
				Tag string `json:"tag"`
			} `json:"version"`
		} `json:"evaluations"`
	}
	if err := json.Unmarshal([]byte(c.must("explain", "api/prod/prod-eu-west-1", "-o", "json")), &x); err != nil {
		t.Fatal(err)
	}
	if len(x.Evaluations) != 2 || x.Evaluations[0].Version.Tag != "v1.1.0" || x.Evaluations[1].Version.Tag != "v1.0.0" {
		t.Errorf("explain -o json evaluations: %+v, want v1.1.0 then v1.0.0", x.Evaluations)
	}
}

func TestApprove_LetsTheVersionIntoProd(t *testing.T) {
	c := rollout(t)
	out := c.must("approve", "api/v1.0.0", "--environment", "prod", "--user", "alice", "--reason", "change 1234")
	if out != "approved api/v1.0.0 for prod as alice\n" {
		t.Errorf("approve printed %q", out)
	}
	golden(t, "get_targets_after_approval", c.must("get", "targets", "--environment", "prod"))
	golden(t, "get_approvals", c.must("get", "approvals", "-o", "wide"))

	_, err := c.run("approve", "v1.0.0", "--environment", "prod", "--user", "bob")
	if err == nil || !strings.Contains(err.Error(), "api/v1.0.0, web/v1.0.0") {
		t.Errorf("approve of a tag two deployments have: %v", err)
	}
}

func TestApprove_ForTheNamedTokensHolder(t *testing.T) {
	login, err := user.Current()
	if err != nil {
		t.Skip("no login name here:", err)
	}
	const aliceToken = "alice-cli-token"
	opt := clienttest.Options{Token: "admin-cli-token",
		Named: []auth.Entry{{Name: "alice", Token: aliceToken, Groups: []string{"sre"}}}}
	if login.Username == "alice" {
		t.Skip("the login name is the token's name; the test needs them to differ")
	}

	// Alice's token, no --user: recorded for alice, whatever the login name.
	c := rolloutWith(t, opt, aliceToken)
	out := c.must("approve", "api/v1.0.0", "--environment", "prod")
	if out != "approved api/v1.0.0 for prod as the token's holder\n" {
		t.Errorf("approve with a named token printed %q", out)
	}
	approvals := c.must("get", "approvals", "-o", "json")
	if !strings.Contains(approvals, `"userId": "alice"`) || !strings.Contains(approvals, `"sre"`) {
		t.Errorf("the approval is not alice's, with her group:\n%s", approvals)
	}

	// The anonymous token names nobody: the login name is recorded.
	c = rolloutWith(t, opt, "admin-cli-token")
	out = c.must("approve", "api/v1.0.0", "--environment", "prod")
	if out != "approved api/v1.0.0 for prod as "+login.Username+"\n" {
		t.Errorf("approve with the anonymous token printed %q", out)
	}
	if approvals := c.must("get", "approvals", "-o", "json"); !strings.Contains(approvals, `"userId": "`+login.Username+`"`) {
		t.Errorf("the approval is not the login name's:\n%s", approvals)
	}
}

func TestRedeploy_RefusedWhileAJobRuns(t *testing.T) {
	c := rollout(t)
	if out := c.must("redeploy", "api/dev/dev-eu-west-1"); out != "redeploy of api/dev/dev-eu-west-1 requested\n" {
		t.Errorf("redeploy printed %q", out)
	}
	jobs := c.must("get", "jobs", "--deployment", "api", "--environment", "dev", "--resource", "dev-eu-west-1", "--status", "pending")
	if strings.Count(jobs, "pending") != 1 {
		t.Errorf("after redeploy, pending jobs:\n%s", jobs)
	}
	_, err := c.run("redeploy", "api/dev/dev-eu-west-1")
	if err == nil || !strings.Contains(err.Error(), "conflict") || !strings.Contains(err.Error(), "job under way") {
		t.Errorf("second redeploy: %v", err)
	}
	_, err = c.run("redeploy", "api/dev/prod-eu-west-1")
	if err == nil || !strings.Contains(err.Error(), "is not a release target") {
		t.Errorf("redeploy of a resource outside the environment: %v", err)
	}
}

func TestGet_JSONAndYAMLAreTheServersView(t *testing.T) {
	c := rollout(t)
	var d map[string]any
	if err := json.Unmarshal([]byte(c.must("get", "deployment", "api", "-o", "json")), &d); err != nil {
		t.Fatal(err)
	}
	if d["name"] != "api" || d["slug"] != "api" {
		t.Errorf("get deployment api -o json: %v", d)
	}
	golden(t, "get_deployment_api_yaml", c.must("get", "deployment", "api", "-o", "yaml"))

	var list []map[string]any
	if err := json.Unmarshal([]byte(c.must("get", "targets", "--environment", "staging", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 8 {
		t.Errorf("get targets --environment staging -o json: %d items, want 8", len(list))
	}
	if _, err := c.run("get", "nonsense"); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Errorf("get nonsense: %v", err)
	}
	if _, err := c.run("get", "systems", "--status", "ready"); err == nil || !strings.Contains(err.Error(), "no status") {
		t.Errorf("get systems --status: %v", err)
	}
}
