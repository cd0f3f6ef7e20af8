package engine_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestEngine_NewFieldsSurviveRestore: a version's dependencies and creator,
// an approval's groups, a group approval rule, and workflow jobs with their
// matrix cells and resources are stored as memory holds them, on both
// databases.
func TestEngine_NewFieldsSurviveRestore(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			eng := newDurableEngine(db)
			t.Cleanup(eng.Close)
			const ws = "ws-features"
			mustApply(t, eng, ws, pipeline(t)...)
			mustApply(t, eng, ws, resourceCreated(t, "r1", ""))
			alice := &model.Caller{Name: "alice", Groups: []string{"sre"}}
			version := ev(t, "deployment-version.created", "", map[string]any{"id": "api-v2", "tag": "v2", "name": "v2",
				"deploymentId": "api", "dependencies": map[string]any{"worker": map[string]any{"versionSelector": `version.tag == "v1"`}}})
			version.Caller = alice
			approval := ev(t, "user-approval-record.created", "", map[string]any{"versionId": "api-v2", "environmentId": "prod",
				"status": "approved"})
			approval.Caller = alice
			mustApply(t, eng, ws,
				ev(t, "policy.created", "", map[string]any{"id": "gate", "name": "gate", "enabled": true, "selector": "true",
					"rules": []any{map[string]any{"id": "r", "anyApproval": map[string]any{"minApprovals": 1,
						"fromGroups": []any{map[string]any{"group": "sre", "minApprovals": 1}}, "forbidSelfApproval": true}}}}),
				version, approval,
				ev(t, "workflow.created", "", map[string]any{"id": "wf", "slug": "fan", "name": "fan",
					"inputs": []any{map[string]any{"key": "nodes", "type": "resource-selector", "default": map[string]any{"cel": "true"}}},
					"jobs": []any{map[string]any{"id": "t", "name": "t", "ref": "agent", "config": map[string]any{"n": "{{.Matrix.n}}"},
						"matrix": map[string]any{"node": "nodes", "n": []any{1, 2.5, map[string]any{"deep": true}}}}}}),
				ev(t, "workflow-run.created", "", map[string]any{"id": "run", "workflowSlug": "fan", "inputs": map[string]any{}}))

			want := durableOf(storetest.Dump(t, snapshot(t, eng, ws), true))
			assertSameTables(t, "after a restore", durableOf(loadDurable(t, db, ws)), want)
		})
	}
}
