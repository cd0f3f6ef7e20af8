package main

import (
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/client/clienttest"
)

func TestCLI_UnreachableServerIsNamed(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	// A port nobody listens on: bound, then released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	_, err = runGatehouse("get", "targets", "--server", addr, "--workspace", testWorkspace, "--config", c.config)
	if err == nil {
		t.Fatal("get against a closed port succeeded")
	}
	for _, want := range []string{"cannot reach the Gatehouse server at http://" + addr, "--server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestCLI_TokenMissingOrWrong(t *testing.T) {
	const token = "tok-9d8e7f"
	c := newCLI(t, clienttest.Options{Token: token})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "s.yaml"), "kind: system\nmetadata:\n  name: payments\n")

	c.token = ""
	_, err := c.run("apply", "-f", dir)
	if err == nil || !strings.Contains(err.Error(), "wants a token and none was given") || !strings.Contains(err.Error(), c.srv.URL) {
		t.Errorf("without a token: %v", err)
	}
	c.token = "not-" + token
	_, err = c.run("get", "systems")
	if err == nil || !strings.Contains(err.Error(), "refused the token") {
		t.Errorf("with a wrong token: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), c.token) {
		t.Errorf("the error prints the token: %v", err)
	}
	c.token = token
	if out := c.must("apply", "-f", dir); !strings.Contains(out, "created  system/payments") {
		t.Errorf("with the token: %q", out)
	}
}

func TestCLI_NoWorkspace(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	_, err := runGatehouse("get", "systems", "--server", c.srv.URL, "--config", c.config)
	if err == nil || !strings.Contains(err.Error(), "no workspace") || !strings.Contains(err.Error(), "GATEHOUSE_WORKSPACE") {
		t.Errorf("get without a workspace: %v", err)
	}
}

func TestCLI_ConnectionFromEnvironmentAndContext(t *testing.T) {
	const token = "tok-ctx"
	c := newCLI(t, clienttest.Options{Token: token})
	// The context names the workspace and the token; the environment
	// names the server.
	out, err := runGatehouse("config", "set-context", "test", "--workspace", testWorkspace, "--token", token, "--config", c.config)
	if err != nil {
		t.Fatalf("set-context: %v\n%s", err, out)
	}
	t.Setenv("GATEHOUSE_SERVER", c.srv.URL)
	t.Setenv("GATEHOUSE_CONFIG", c.config)
	if out, err := runGatehouse("get", "systems"); err != nil || out != "No systems found.\n" {
		t.Fatalf("get systems through the context: %v %q", err, out)
	}
	listed, err := runGatehouse("config", "get-contexts")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(listed, token) || !strings.Contains(listed, "set") {
		t.Errorf("get-contexts:\n%s", listed)
	}
	// A flag beats the environment.
	t.Setenv("GATEHOUSE_WORKSPACE", "another")
	if _, err := runGatehouse("get", "systems", "--workspace", testWorkspace); err != nil {
		t.Errorf("--workspace over GATEHOUSE_WORKSPACE: %v", err)
	}
	if _, err := runGatehouse("config", "use-context", "missing"); err == nil || !strings.Contains(err.Error(), `no context named "missing"`) {
		t.Errorf("use-context missing: %v", err)
	}
}

func TestCLI_SecretsAreNeverPrinted(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	dir := t.TempDir()
	const secret = "hunter2-very-secret"
	writeFile(t, filepath.Join(dir, "s.yaml"), `kind: job-agent
metadata:
  name: hook
spec:
  type: webhook
  config:
    url: https://hooks.example.com/deploy
    secret: `+secret+`
---
kind: resource
metadata:
  name: eu-1
spec:
  kind: Cluster
---
kind: resource-variable
metadata:
  name: db-password
spec:
  resource: eu-1
  value:
    sensitive: `+secret+`
`)
	outputs := []string{c.must("apply", "-f", dir, "--dry-run"), c.must("apply", "-f", dir)}
	if out := c.must("apply", "-f", dir); out != "No changes.\n" {
		t.Errorf("second apply with a sensitive value: %q", out)
	}
	if out := c.must("apply", "-f", dir, "--resend-secrets", "--dry-run"); !strings.Contains(out, "would update  resource-variable/eu-1/db-password") {
		t.Errorf("--resend-secrets --dry-run: %q", out)
	}
	edit(t, filepath.Join(dir, "s.yaml"), "secret: "+secret, "secret: "+secret+"-2")
	outputs = append(outputs, c.must("apply", "-f", dir))
	for _, args := range [][]string{{"get", "resource-variables"}, {"get", "resource-variables", "-o", "json"},
		{"get", "job-agent", "hook", "-o", "yaml"}, {"get", "agents", "-o", "json"}} {
		outputs = append(outputs, c.must(args...))
	}
	for _, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("output shows the secret:\n%s", out)
		}
	}
	if !strings.Contains(outputs[2], "config.secret: (redacted) -> (redacted)") {
		t.Errorf("the update of a secret is not shown redacted:\n%s", outputs[2])
	}
	if !strings.Contains(outputs[3], "(sensitive)") {
		t.Errorf("get resource-variables:\n%s", outputs[3])
	}
}

func TestVersion_FromBuildInfoAndLinkFlags(t *testing.T) {
	out, err := runGatehouse("version")
	if err != nil || !strings.HasPrefix(out, "gatehouse ") || !strings.Contains(out, "go         go1.") {
		t.Errorf("version: %v\n%s", err, out)
	}
	version, commit = "v9.9.9", "abc1234"
	t.Cleanup(func() { version, commit = "", "" })
	out, err = runGatehouse("version", "-o", "json")
	if err != nil || !strings.Contains(out, `"version": "v9.9.9"`) || !strings.Contains(out, `"commit": "abc1234"`) {
		t.Errorf("version -o json with link flags: %v\n%s", err, out)
	}
}

func TestCompletion_ScriptsAndKinds(t *testing.T) {
	for shell, mark := range map[string]string{"bash": "__start_gatehouse", "zsh": "#compdef gatehouse",
		"fish": "complete -c gatehouse", "powershell": "Register-ArgumentCompleter"} {
		out, err := runGatehouse("completion", shell)
		if err != nil || !strings.Contains(out, mark) {
			t.Errorf("completion %s: %v; want a script with %q, got %d bytes", shell, err, mark, len(out))
		}
	}
	// What a shell asks when someone types `gatehouse get <TAB>`.
	out, err := runGatehouse("__complete", "get", "")
	if err != nil {
		t.Fatalf("__complete get: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, kind := range []string{"release-target", "deployment-version", "freeze", "job"} {
		if !slices.Contains(lines, kind) {
			t.Errorf("get does not complete the kind %s:\n%s", kind, out)
		}
	}
}
