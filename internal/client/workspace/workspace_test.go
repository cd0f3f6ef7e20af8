package workspace_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

const ws = "ws-workspace-test"

func event(eventType string, data map[string]any) map[string]any {
	return map[string]any{"eventType": eventType, "data": data}
}

func TestSnapshot_ResolvesNames(t *testing.T) {
	srv := clienttest.New(t, clienttest.Options{})
	c, err := client.New(client.Options{Server: srv.URL, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	empty, err := workspace.Read(ctx, c)
	if err != nil || len(empty.Keys("deployment")) != 0 {
		t.Fatalf("a workspace the server does not hold: %v", err)
	}
	version := func(id, tag, dep string) map[string]any {
		return map[string]any{"id": id, "tag": tag, "deploymentId": dep, "config": map[string]any{}, "jobAgentConfig": map[string]any{}}
	}
	srv.Send(ws, "",
		event("system.created", map[string]any{"id": "sys", "name": "payments"}),
		event("deployment.created", map[string]any{"id": "d-api", "name": "api", "slug": "api", "resourceSelector": map[string]any{"cel": "true"}}),
		event("deployment.created", map[string]any{"id": "d-web", "name": "web", "slug": "storefront", "resourceSelector": map[string]any{"cel": "true"}}),
		event("environment.created", map[string]any{"id": "e-prod", "name": "prod", "resourceSelector": map[string]any{"cel": "true"}}),
		event("resource.created", map[string]any{"id": "r-1", "name": "eu", "identifier": "cluster/eu-1", "kind": "K", "version": "v", "config": map[string]any{}, "metadata": map[string]string{}}),
		event("system-deployment.linked", map[string]any{"systemId": "sys", "deploymentId": "d-api"}),
		event("system-environment.linked", map[string]any{"systemId": "sys", "environmentId": "e-prod"}),
		event("deployment-version.created", version("v-api", "v1.0.0", "d-api")),
		event("deployment-version.created", version("v-web", "v1.0.0", "d-web")),
	)
	snap, err := workspace.Read(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ kind, ref, owner, want string }{
		{"deployment", "api", "", "d-api"},
		{"deployment", "storefront", "", "d-web"},
		{"deployment", "d-web", "", "d-web"},
		{"resource", "cluster/eu-1", "", "r-1"},
		{"resource", "eu", "", "r-1"},
		{"deployment-version", "api/v1.0.0", "", "v-api"},
		{"deployment-version", "v1.0.0", "web", "v-web"},
		{"deployment-version", "v-web", "", "v-web"},
	} {
		got, err := snap.Resolve(tc.kind, tc.ref, tc.owner)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%s, %s, %s) = %q, %v; want %q", tc.kind, tc.ref, tc.owner, got, err, tc.want)
		}
	}
	if _, err := snap.Resolve("deployment-version", "v1.0.0", ""); err == nil || !strings.Contains(err.Error(), "api/v1.0.0, web/v1.0.0") {
		t.Errorf("an ambiguous tag: %v", err)
	}
	if _, err := snap.Resolve("deployment", "ghost", ""); err == nil || !strings.Contains(err.Error(), `no deployment named "ghost"`) {
		t.Errorf("a missing name: %v", err)
	}
	if got := snap.Name("deployment-version", "v-web"); got != "web/v1.0.0" {
		t.Errorf("Name of a version: %q", got)
	}

	target, err := workspace.ResolveTarget(ctx, c, snap, "api/prod/eu")
	if err != nil || target.ResourceID != "r-1" || target.Key == "" {
		t.Fatalf("target by names: %+v %v", target, err)
	}
	if t2, err := workspace.ResolveTarget(ctx, c, snap, "api/prod/cluster/eu-1"); err != nil || t2.Key != target.Key {
		t.Errorf("target by identifier with a slash: %+v %v", t2, err)
	}
	byKey, err := workspace.ResolveTarget(ctx, c, snap, target.Key)
	if err != nil || byKey.Key != target.Key {
		t.Errorf("target by key: %+v %v", byKey, err)
	}
	if _, err := workspace.ResolveTarget(ctx, c, snap, "web/prod/eu"); err == nil || !strings.Contains(err.Error(), "is not a release target") {
		t.Errorf("web is in no system: %v", err)
	}
}
