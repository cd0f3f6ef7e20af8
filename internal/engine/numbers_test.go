package engine_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestEngine_ReleaseIDSurvivesARestore writes variables whose numbers a
// database may rewrite (PostgreSQL's JSONB reads 1e2 back as 100) and
// checks that a restore from the database gives every table back byte for
// byte, so the release ids derived from the variables do not change and no
// target is redeployed.
func TestEngine_ReleaseIDSurvivesARestore(t *testing.T) {
	num := func(s string) json.RawMessage { return json.RawMessage(s) }
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			eng := newDurableEngine(db)
			const ws = "ws-numbers"
			mustApply(t, eng, ws, pipeline(t)...)
			mustApply(t, eng, ws,
				ev(t, "deployment-variable.created", "", map[string]any{"id": "replicas", "key": "replicas", "deploymentId": "api",
					"defaultValue": num(`1e2`)}),
				ev(t, "deployment-variable.created", "", map[string]any{"id": "limits", "key": "limits", "deploymentId": "api",
					"defaultValue": map[string]any{"object": map[string]any{
						"cpu": num(`2.50`), "ratio": num(`1E-7`), "zero": num(`-0`), "big": num(`1e21`), "list": []any{num(`1.0`), num(`12e-1`)}}}}),
				ev(t, "deployment-variable.created", "", map[string]any{"id": "weight", "key": "weight", "deploymentId": "api"}),
				ev(t, "deployment-variable-value.created", "", map[string]any{"id": "replicas-3", "deploymentVariableId": "replicas",
					"priority": 1, "value": num(`3.0e0`)}),
				ev(t, "deployment-version.created", "", map[string]any{"id": "api-v2", "tag": "v2", "name": "v2", "deploymentId": "api"}),
				resourceCreated(t, "r1", ""),
				ev(t, "resource-variable.created", "", map[string]any{"resourceId": "r1", "key": "weight", "value": num(`5e-1`)}),
			)
			snap := snapshot(t, eng, ws)
			key := (&model.ReleaseTarget{ResourceID: "r1", EnvironmentID: "prod", DeploymentID: "api"}).Key()
			st, err := store.TargetStates.Get(snap, key)
			if err != nil {
				t.Fatal(err)
			}
			rel, err := store.Releases.Get(snap, st.DesiredReleaseID)
			if err != nil {
				t.Fatal(err)
			}
			vars, _ := json.Marshal(rel.Variables)
			const want = `{"limits":{"object":{"big":1000000000000000000000,"cpu":2.5,"list":[1,1.2],"ratio":0.0000001,"zero":0}},` +
				`"replicas":3,"weight":0.5}`
			if string(vars) != want {
				t.Errorf("release variables %s, want %s", vars, want)
			}
			before := storetest.Dump(t, snap, false)

			restarted := newDurableEngine(db)
			if err := restarted.Restore(context.Background()); err != nil {
				t.Fatalf("restore: %v", err)
			}
			after := snapshot(t, restarted, ws)
			if got, _ := store.TargetStates.Get(after, key); got == nil || got.DesiredReleaseID != st.DesiredReleaseID {
				t.Errorf("desired release after the restore: %+v, want %s", got, st.DesiredReleaseID)
			}
			if n := len(store.JobsByTarget.Get(after, key)); n != 1 {
				t.Errorf("%d jobs after the restore, want the one from before", n)
			}
			assertSameTables(t, "after the restore", storetest.Dump(t, after, true), durableOf(before))
		})
	}
}
