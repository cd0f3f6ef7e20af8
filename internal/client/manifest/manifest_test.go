package manifest_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
)

const ws = "ws-manifest-test"

func TestParse(t *testing.T) {
	t.Run("multi-document YAML", func(t *testing.T) {
		docs, err := manifest.Parse("m.yaml", []byte("kind: system\nmetadata:\n  name: a\n---\n# only a comment\n---\nkind: system\nmetadata:\n  name: b\n  id: b-id\nspec:\n  description: B\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 2 || docs[0].Name != "a" || docs[1].ID != "b-id" || docs[1].Index != 2 || docs[1].Spec["description"] != "B" {
			t.Errorf("docs: %+v", docs)
		}
	})
	t.Run("JSON array", func(t *testing.T) {
		docs, err := manifest.Parse("m.json", []byte(`[{"kind": "system", "metadata": {"name": "a"}}, {"kind": "system", "metadata": {"name": "b"}, "spec": {"n": 3}}]`))
		if err != nil || len(docs) != 2 || docs[1].Spec["n"] != 3.0 {
			t.Errorf("docs %+v, err %v", docs, err)
		}
	})
	for _, tc := range []struct{ name, text, want string }{
		{"unknown key", "kind: system\nmetadata:\n  name: a\nsepc: {}\n", "(document 1): sepc: unknown key"},
		{"no name", "kind: system\nmetadata: {}\n", "metadata.name: is required"},
		{"no metadata", "kind: system\n", "metadata: is required"},
		{"unknown metadata key", "kind: system\nmetadata:\n  name: a\n  labels: {}\n", "metadata.labels: unknown key"},
		{"spec not a mapping", "kind: system\nmetadata:\n  name: a\nspec: [1]\n", "spec: must be a mapping"},
		{"bad YAML in the second document", "kind: system\nmetadata:\n  name: a\n---\nkind: [\n", "(document 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Parse("m.yaml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "m.yaml") {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestLoad_ReadsDirectoriesInOrder(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"b.yaml":        "kind: system\nmetadata:\n  name: b\n",
		"a.yml":         "kind: system\nmetadata:\n  name: a\n",
		"sub/c.json":    `{"kind": "system", "metadata": {"name": "c"}}`,
		"README.md":     "not a manifest",
		".hidden/d.yml": "kind: nonsense\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := manifest.Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
	}
	if !reflect.DeepEqual(names, []string{"a", "b", "c"}) {
		t.Errorf("names %v, want [a b c]", names)
	}
	if _, err := manifest.Load([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing path loaded")
	}
}

func parse(t *testing.T, text string) []manifest.Document {
	t.Helper()
	docs, err := manifest.Parse("m.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// finder is the server's state for Resolve: entities by kind, parent and
// name.
type finder map[string]string

func (f finder) Find(kind, parent, name string) (string, error) {
	if id, ok := f[kind+"/"+parent+"/"+name]; ok {
		return id, nil
	}
	return "", manifest.ErrNotFound
}

func TestResolve_NamesBecomeIDs(t *testing.T) {
	docs := parse(t, `kind: deployment
metadata:
  name: api
spec:
  systems: [payments, payments]
  jobAgent: runner
  jobAgents:
    - ref: runner
      selector: "true"
  resourceSelector: {cel: "true"}
  metadata: {team: core}
---
kind: system
metadata:
  name: payments
---
kind: job-agent
metadata:
  name: runner
  id: runner-id
spec:
  type: custom
---
kind: deployment-version
metadata:
  name: v1.0.0
spec:
  deployment: api
---
kind: deployment-variable-value
metadata:
  name: prod
spec:
  deployment: api
  variable: replicas
  value: 3
`)
	ents, err := manifest.Resolve(ws, docs, finder{"deployment-variable/" + manifest.DeriveID(ws, "deployment", "", "api") + "/replicas": "var-id"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range ents {
		kinds = append(kinds, e.Kind.Name)
	}
	if want := []string{"system", "job-agent", "deployment", "deployment-variable-value", "deployment-version"}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds in order %v, want %v", kinds, want)
	}
	sys, api, value, version := ents[0], ents[2], ents[3], ents[4]
	apiID := manifest.DeriveID(ws, "deployment", "", "api")
	if api.Key != apiID || api.Data["id"] != apiID || api.Data["jobAgentId"] != "runner-id" || api.Data["slug"] != "api" {
		t.Errorf("deployment: %+v", api.Data)
	}
	if _, ok := api.Data["jobAgent"]; ok {
		t.Error("the reference field jobAgent is sent")
	}
	if ref := api.Data["jobAgents"].([]any)[0].(map[string]any)["ref"]; ref != "runner-id" {
		t.Errorf("jobAgents[0].ref = %v", ref)
	}
	if !reflect.DeepEqual(api.Systems, []string{sys.Key}) {
		t.Errorf("systems %v, want [%s]", api.Systems, sys.Key)
	}
	meta := api.Data["metadata"].(map[string]any)
	if meta["team"] != "core" || meta[manifest.ManagedByKey] != "apply" || meta[manifest.SourceKey] != "m.yaml" || meta[manifest.SystemsKey] != sys.Key {
		t.Errorf("metadata %v", meta)
	}
	if version.Name != "api/v1.0.0" || version.Data["tag"] != "v1.0.0" || version.Data["deploymentId"] != apiID ||
		version.Key != manifest.DeriveID(ws, "deployment-version", apiID, "v1.0.0") || version.Data["status"] != "ready" {
		t.Errorf("version %s: %+v", version.Name, version.Data)
	}
	if value.Data["deploymentVariableId"] != "var-id" || value.Name != "api/replicas/prod" {
		t.Errorf("value %s: %+v", value.Name, value.Data)
	}
	if _, ok := value.Data["deployment"]; ok {
		t.Error("the scoping field deployment is sent")
	}

	again, err := manifest.Resolve(ws, docs, finder{"deployment-variable/" + apiID + "/replicas": "var-id"})
	if err != nil || !reflect.DeepEqual(again, ents) {
		t.Error("resolving the same manifests twice gives other entities")
	}
	other, err := manifest.Resolve("another-workspace", docs[:3], finder{})
	if err != nil || other[2].Kind.Name != "deployment" || other[2].Key == apiID {
		t.Error("another workspace derives the same id")
	}
}

func TestResolve_Refusals(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown kind", "kind: deploymnet\nmetadata:\n  name: a\n", `kind "deploymnet" is not one of`},
		{"unknown reference", "kind: deployment\nmetadata:\n  name: a\nspec:\n  jobAgent: ghost\n", `no job-agent named "ghost"`},
		{"missing required reference", "kind: deployment-version\nmetadata:\n  name: v1\n", "spec.deployment: is required"},
		{"id in spec", "kind: system\nmetadata:\n  name: a\nspec:\n  id: x\n", "metadata.id"},
		{"name in spec differs", "kind: system\nmetadata:\n  name: a\nspec:\n  name: b\n", "spec.name: the name comes from metadata.name"},
		{"both reference and id", "kind: job-agent\nmetadata:\n  name: r\nspec:\n  type: custom\n---\nkind: deployment\nmetadata:\n  name: a\nspec:\n  jobAgent: r\n  jobAgentId: x\n", "give jobAgent or jobAgentId, not both"},
		{"systems on a resource", "kind: resource\nmetadata:\n  name: a\nspec:\n  systems: [s]\n", "only deployments and environments"},
		{"declared twice", "kind: system\nmetadata:\n  name: a\n---\nkind: system\nmetadata:\n  name: a\n", "declared twice"},
		{"apply's own metadata", "kind: system\nmetadata:\n  name: a\nspec:\n  metadata:\n    gatehouse.dev/source: x\n", "is set by apply"},
		{"metadata not strings", "kind: system\nmetadata:\n  name: a\nspec:\n  metadata:\n    n: 1\n", "metadata values are strings"},
		{"rule out of range", "kind: policy\nmetadata:\n  name: p\nspec:\n  rules: [{anyApproval: {minApprovals: 1}}]\n---\nkind: deployment\nmetadata:\n  name: d\n---\nkind: deployment-version\nmetadata:\n  name: v\nspec:\n  deployment: d\n---\nkind: policy-skip\nmetadata:\n  name: s\nspec:\n  deployment: d\n  version: v\n  policy: p\n  rule: 3\n", "has no rule 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.Resolve(ws, parse(t, tc.text), finder{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), "m.yaml (document ") {
				t.Errorf("error %v does not name the document", err)
			}
		})
	}
}

func TestResolve_PolicySkipNamesARuleByPosition(t *testing.T) {
	docs := parse(t, `kind: policy
metadata:
  name: gates
spec:
  rules:
    - anyApproval: {minApprovals: 1}
    - id: window
      deploymentWindow: {rrule: "FREQ=DAILY", durationMinutes: 60}
---
kind: deployment
metadata:
  name: api
---
kind: deployment-version
metadata:
  name: v2
spec:
  deployment: api
---
kind: environment
metadata:
  name: prod
---
kind: policy-skip
metadata:
  name: hotfix
spec:
  deployment: api
  version: v2
  environment: prod
  policy: gates
  rule: 1
  reason: hotfix
`)
	ents, err := manifest.Resolve(ws, docs, finder{})
	if err != nil {
		t.Fatal(err)
	}
	skip := ents[len(ents)-1]
	policyID := manifest.DeriveID(ws, "policy", "", "gates")
	if skip.Data["ruleId"] != "window" || skip.Data["environmentId"] != manifest.DeriveID(ws, "environment", "", "prod") {
		t.Errorf("skip %+v", skip.Data)
	}
	rules := ents[0].Data["rules"].([]any)
	if rules[0].(map[string]any)["id"] != manifest.RuleID(policyID, 0) || ents[0].Data["enabled"] != true {
		t.Errorf("policy %+v", ents[0].Data)
	}
	if _, ok := skip.Data["policy"]; ok {
		t.Error("the scoping field policy is sent")
	}
}

func TestDeriveID_StableAndDistinct(t *testing.T) {
	a := manifest.DeriveID("ws", "deployment", "", "api")
	if a != manifest.DeriveID("ws", "deployment", "", "api") {
		t.Error("the same name gives two ids")
	}
	for _, other := range []string{manifest.DeriveID("ws", "environment", "", "api"), manifest.DeriveID("ws2", "deployment", "", "api"),
		manifest.DeriveID("ws", "deployment", "p", "api")} {
		if other == a {
			t.Error("different inputs give one id")
		}
	}
	if len(a) != 36 || a[14] != '5' {
		t.Errorf("id %s is not a UUIDv5", a)
	}
}
