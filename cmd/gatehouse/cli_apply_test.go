package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/client/clienttest"
)

func TestApply_TwiceChangesNothing(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	dir := examplesIn(t)

	golden(t, "apply_examples", c.must("apply", "-f", dir))
	if n := c.srv.Posts(); n != 1 {
		t.Fatalf("apply sent %d batches, want one", n)
	}
	batch := c.srv.LastPost()
	links := 0
	for _, ev := range batch {
		if ev["eventId"] == "" || ev["eventId"] == nil {
			t.Errorf("event %v has no eventId", ev["eventType"])
		}
		if strings.HasSuffix(ev["eventType"].(string), ".linked") {
			links++
		}
	}
	if links != 5 {
		t.Errorf("apply sent %d link events, want 5 (3 environments, 2 deployments)", links)
	}

	if out := c.must("apply", "-f", dir); out != "No changes.\n" {
		t.Errorf("second apply printed %q, want \"No changes.\"", out)
	}
	if n := c.srv.Posts(); n != 1 {
		t.Errorf("second apply sent %d more batches, want none", n-1)
	}
}

func TestApply_DryRunSendsNothing(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	dir := examplesIn(t)

	golden(t, "apply_dry_run_new", c.must("apply", "-f", dir, "--dry-run"))
	if n := c.srv.Posts(); n != 0 {
		t.Fatalf("a dry run sent %d batches", n)
	}
	if out := c.must("get", "systems"); out != "No systems found.\n" {
		t.Fatalf("after a dry run: %q", out)
	}

	c.must("apply", "-f", dir)
	sent := c.srv.Posts()
	edit(t, filepath.Join(dir, "deployments.yaml"), "description: The payments API", "description: Payments, version 2")
	edit(t, filepath.Join(dir, "policies.yaml"), "minApprovals: 1", "minApprovals: 2")
	edit(t, filepath.Join(dir, "deployments.yaml"), "  value: 4\n", "  value: 6\n")
	appendFile(t, filepath.Join(dir, "system.yaml"), "---\nkind: system\nmetadata:\n  name: storefront\n")
	edit(t, filepath.Join(dir, "deployments.yaml"), "  systems: [payments]\n  jobAgent: test-runner\n  resourceSelector:\n    cel: resource.kind == \"Cluster\"\n---\nkind: deployment\nmetadata:\n  name: web",
		"  systems: [payments, storefront]\n  jobAgent: test-runner\n  resourceSelector:\n    cel: resource.kind == \"Cluster\"\n---\nkind: deployment\nmetadata:\n  name: web")
	dropDocument(t, filepath.Join(dir, "resources.yaml"), "name: prod-us-west-2")

	golden(t, "apply_dry_run_changes", c.must("apply", "-f", dir, "--dry-run", "--prune"))
	if n := c.srv.Posts(); n != sent {
		t.Fatalf("a dry run sent %d batches", n-sent)
	}
	var api map[string]any
	c.srv.Get(testWorkspace, "", "deployments/"+deploymentID(t, c, "api"), &api)
	if api["description"] != "The payments API" {
		t.Errorf("after a dry run the description is %q", api["description"])
	}
	out := c.must("get", "resource", "prod-us-west-2")
	if !strings.Contains(out, "prod-us-west-2") {
		t.Errorf("after a dry run with --prune the resource is gone: %q", out)
	}
}

func TestApply_PruneDeletesOnlyWhatApplyMadeThere(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	dir := examplesIn(t)
	c.must("apply", "-f", dir)
	// Made by hand, through the API: not apply's to delete.
	c.send(map[string]any{"eventType": "resource.created", "data": map[string]any{"id": "hand-made", "name": "hand-made",
		"identifier": "hand-made", "kind": "Cluster", "version": "v1", "config": map[string]any{}, "metadata": map[string]string{"env": "prod"}}})
	// Made by apply, from another directory: outside the scope of a prune
	// of examples/.
	writeFile(t, "other/billing.yaml", "kind: system\nmetadata:\n  name: billing\n")
	c.must("apply", "-f", "other")

	if err := os.Remove(filepath.Join(dir, "versions.yaml")); err != nil {
		t.Fatal(err)
	}
	dropDocument(t, filepath.Join(dir, "deployments.yaml"), "name: web")
	dropDocument(t, filepath.Join(dir, "resources.yaml"), "name: prod-us-west-2")
	dropDocument(t, filepath.Join(dir, "deployments.yaml"), "name: replicas-prod")

	golden(t, "apply_prune", c.must("apply", "-f", dir, "--prune"))

	resources := c.must("get", "resources")
	if !strings.Contains(resources, "hand-made") || strings.Contains(resources, "prod-us-west-2") {
		t.Errorf("after prune:\n%s", resources)
	}
	if systems := c.must("get", "systems"); !strings.Contains(systems, "billing") {
		t.Errorf("prune of examples/ deleted a system applied from other/:\n%s", systems)
	}
	if deployments := c.must("get", "deployments"); strings.Contains(deployments, "web") {
		t.Errorf("web survived the prune:\n%s", deployments)
	}
	if versions := c.must("get", "versions"); versions != "No versions found.\n" {
		t.Errorf("versions after prune:\n%s", versions)
	}
	if out := c.must("apply", "-f", dir, "--prune"); out != "No changes.\n" {
		t.Errorf("apply after prune: %q", out)
	}
}

// A manifest that goes back and forth sends, the second time round, events
// with the ids of ones the server already applied; apply notices that the
// server still differs and sends them again with fresh ids.
func TestApply_BackAndForthConverges(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	for i, enabled := range []string{"true", "false", "true", "false"} {
		writeFile(t, path, "kind: policy\nmetadata:\n  name: freeze\nspec:\n  selector: \"true\"\n  enabled: "+enabled+"\n  rules:\n    - anyApproval:\n        minApprovals: 1\n")
		c.must("apply", "-f", path)
		var p struct {
			Enabled bool `json:"enabled"`
		}
		c.srv.Get(testWorkspace, "", "policies/"+policyID(t, c, "freeze"), &p)
		if want := enabled == "true"; p.Enabled != want {
			t.Fatalf("apply %d: enabled = %v, want %v", i+1, p.Enabled, want)
		}
		if out := c.must("apply", "-f", path); out != "No changes.\n" {
			t.Fatalf("apply %d again: %q", i+1, out)
		}
	}
}

func TestApply_RefusedEventNamesItsManifest(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), `kind: system
metadata:
  name: payments
---
kind: environment
metadata:
  name: prod
spec:
  systems: [payments]
  resourceSelector:
    cel: resource.metadata["env"] ==
`)
	_, err := c.run("apply", "-f", dir)
	if err == nil {
		t.Fatal("apply of an environment with a broken selector succeeded")
	}
	for _, want := range []string{"environment prod", "bad.yaml (document 2)", "environment.resourceSelector", "event 2 of 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	writeFile(t, filepath.Join(dir, "bad.yaml"), "kind: deployment\nmetadata:\n  name: api\nspec:\n  jobAgent: nobody\n")
	_, err = c.run("apply", "-f", dir)
	if err == nil || !strings.Contains(err.Error(), `no job-agent named "nobody"`) || !strings.Contains(err.Error(), "bad.yaml (document 1)") {
		t.Errorf("apply with an unknown job agent: %v", err)
	}
}

func TestDelete_RemovesWhatManifestsDeclare(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	dir := examplesIn(t)
	c.must("apply", "-f", dir)

	golden(t, "delete_dry_run", c.must("delete", "-f", filepath.Join(dir, "deployments.yaml"), "--dry-run"))
	if out := c.must("get", "deployments"); !strings.Contains(out, "api") {
		t.Fatalf("a dry run deleted: %s", out)
	}
	c.must("delete", "-f", dir)
	for _, kind := range []string{"systems", "deployments", "environments", "resources", "policies", "versions", "targets"} {
		out := c.must("get", kind)
		if !strings.HasPrefix(out, "No ") {
			t.Errorf("get %s after delete:\n%s", kind, out)
		}
	}
	if out := c.must("delete", "-f", dir); out != "No changes.\n" {
		t.Errorf("second delete: %q", out)
	}
}

func deploymentID(t *testing.T, c *cli, name string) string {
	return idOf(t, c, "deployment", name)
}

func policyID(t *testing.T, c *cli, name string) string {
	return idOf(t, c, "policy", name)
}

// idOf reads an entity's id through `get KIND NAME -o json`.
func idOf(t *testing.T, c *cli, kind, name string) string {
	t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(c.must("get", kind, name, "-o", "json")), &v); err != nil {
		t.Fatal(err)
	}
	return v.ID
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	writeFile(t, path, strings.Replace(string(b), old, new, 1))
}

func appendFile(t *testing.T, path, more string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b)+more)
}

// dropDocument removes the YAML document containing marker from a file.
func dropDocument(t *testing.T, path, marker string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	var kept []string
	for _, d := range docs {
		if !strings.Contains(d+"\n", marker+"\n") {
			kept = append(kept, d)
		}
	}
	if len(kept) != len(docs)-1 {
		t.Fatalf("%s: %d documents contain %q, want one", path, len(docs)-len(kept), marker)
	}
	writeFile(t, path, strings.Join(kept, "\n---\n"))
}

func TestApply_WarnsOfANamesakeMadeThroughTheAPI(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	c.send(map[string]any{"eventType": "system.created", "data": map[string]any{"id": "sys-1", "name": "payments"}})
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	writeFile(t, path, "kind: system\nmetadata:\n  name: payments\n")
	out := c.must("apply", "-f", path, "--dry-run")
	if !strings.Contains(out, "warning: system payments: the server has one of that name with id sys-1") ||
		!strings.Contains(out, "would create  system/payments") {
		t.Errorf("dry run over a namesake:\n%s", out)
	}
	writeFile(t, path, "kind: system\nmetadata:\n  name: payments\n  id: sys-1\n")
	out = c.must("apply", "-f", path)
	if strings.Contains(out, "warning") || !strings.Contains(out, "updated  system/payments") {
		t.Errorf("apply taking the system over:\n%s", out)
	}
}

// Freezes and variable sets are kinds of the manifests like any other:
// created once, unchanged the second time (a sealed value included), and
// pruned when their file goes.
func TestApply_FreezesAndVariableSets(t *testing.T) {
	c := newCLI(t, clienttest.Options{})
	dir := examplesIn(t)
	writeFile(t, filepath.Join(dir, "freeze.yaml"), `kind: freeze
metadata:
  name: quarter-close
spec:
  selector: environment.name == "prod"
  reason: the quarter's close
  until: "2026-04-01T00:00:00Z"
`)
	writeFile(t, filepath.Join(dir, "variable-sets.yaml"), `kind: variable-set
metadata:
  name: big-clusters
spec:
  selector: resource.metadata["region"] == "eu-west-1"
  priority: 5
  variables:
    - key: replicas
      value: 6
    - key: registryToken
      value: {sensitive: "hunter2"}
`)
	out := c.must("apply", "-f", dir)
	for _, line := range []string{"created  freeze/quarter-close", "created  variable-set/big-clusters"} {
		if !strings.Contains(out, line) {
			t.Errorf("apply does not say %q:\n%s", line, out)
		}
	}
	if out := c.must("apply", "-f", dir); out != "No changes.\n" {
		t.Errorf("second apply printed %q, want \"No changes.\"", out)
	}
	if got := c.must("get", "freeze", "quarter-close"); !strings.Contains(got, "the quarter's close") {
		t.Errorf("get freeze quarter-close:\n%s", got)
	}
	if got := c.must("get", "varsets", "-o", "json"); strings.Contains(got, "hunter2") || !strings.Contains(got, "big-clusters") {
		t.Errorf("get varsets -o json:\n%s", got)
	}

	if err := os.Remove(filepath.Join(dir, "freeze.yaml")); err != nil {
		t.Fatal(err)
	}
	out = c.must("apply", "-f", dir, "--prune")
	if !strings.Contains(out, "deleted  freeze/quarter-close") || strings.Contains(out, "variable-set") {
		t.Errorf("prune of the freeze's file:\n%s", out)
	}
	if got := c.must("get", "freezes"); strings.Contains(got, "the quarter's close") {
		t.Errorf("the freeze survived the prune:\n%s", got)
	}
}
