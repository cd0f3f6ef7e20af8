package apply_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/apply"
	"github.com/gatehouse-dev/gatehouse/internal/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

const ws = "ws-apply-test"

const manifests = `kind: deployment
metadata:
  name: api
---
kind: deployment-version
metadata:
  name: v1.0.0
spec:
  deployment: api
`

// A batch sent twice — a retry after an answer that got lost — is applied
// once: its event ids are derived from its content, and the server skips
// ids it has seen. Sent without ids, the second copy would stamp the
// version with a new creation time.
func TestPlan_RetriedBatchAppliesOnce(t *testing.T) {
	srv := clienttest.New(t, clienttest.Options{})
	c, err := client.New(client.Options{Server: srv.URL, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	docs, err := manifest.Parse("m.yaml", []byte(manifests))
	if err != nil {
		t.Fatal(err)
	}
	st, err := workspace.Read(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	desired, err := manifest.Resolve(ws, docs, st)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := apply.Compute(ws, desired, st, apply.Options{}).Events()
	if _, err := c.Send(ctx, events); err != nil {
		t.Fatal(err)
	}
	created := versionCreatedAt(t, c)

	srv.Advance(time.Hour)
	if _, err := c.Send(ctx, events); err != nil {
		t.Fatal(err)
	}
	if again := versionCreatedAt(t, c); !again.Equal(created) {
		t.Errorf("the repeated batch was applied again: createdAt %s, then %s", created, again)
	}

	// The same plan computed again — an apply run twice — has the same ids.
	again, _ := apply.Compute(ws, desired, st, apply.Options{}).Events()
	for i := range events {
		if events[i].EventID != again[i].EventID {
			t.Errorf("event %d: id %s, then %s", i, events[i].EventID, again[i].EventID)
		}
	}
}

// An update keeps what the server filled in: a version's creation time
// orders the candidates, so a changed message must not move it.
func TestRun_UpdateKeepsServerStamps(t *testing.T) {
	srv := clienttest.New(t, clienttest.Options{})
	c, err := client.New(client.Options{Server: srv.URL, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	docs, _ := manifest.Parse("m.yaml", []byte(manifests))
	if _, err := apply.Run(ctx, c, docs, apply.Options{}, false); err != nil {
		t.Fatal(err)
	}
	created := versionCreatedAt(t, c)
	srv.Advance(time.Hour)
	docs, _ = manifest.Parse("m.yaml", []byte(manifests+"  message: rebuilt\n"))
	plan, err := apply.Run(ctx, c, docs, apply.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Count(apply.Update) != 1 || len(plan.Changes[0].Fields) != 1 || plan.Changes[0].Fields[0].Path != "message" {
		t.Errorf("plan %+v", plan.Changes)
	}
	if again := versionCreatedAt(t, c); !again.Equal(created) {
		t.Errorf("the update moved createdAt from %s to %s", created, again)
	}
}

func versionCreatedAt(t *testing.T, c *client.Client) time.Time {
	t.Helper()
	versions, err := client.ListOf[client.Version](context.Background(), c, client.DeploymentVersions, nil)
	if err != nil || len(versions) != 1 {
		t.Fatalf("versions: %v %v", versions, err)
	}
	return versions[0].CreatedAt
}
