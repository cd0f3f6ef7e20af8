package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// jobUpdate is a payload that wraps another, like job.updated.
type jobUpdate struct {
	ID             string          `json:"id"`
	Job            json.RawMessage `json:"job"`
	FieldsToUpdate []string        `json:"fieldsToUpdate"`
}

func TestDecode_Refuses(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name string
		into any
		root string
		in   string
		// message is the whole error message; field its Field.
		message, field string
	}{
		{"unknown field", &model.DeploymentVersion{}, "deploymentVersion",
			`{"id": "v1", "tag": "v1", "stauts": "building"}`,
			`unknown field "stauts" in deploymentVersion; did you mean "status"?`, "deploymentVersion.stauts"},
		{"unknown field, nothing near", &model.DeploymentVersion{}, "deploymentVersion",
			`{"id": "v1", "colour": "red"}`,
			`unknown field "colour" in deploymentVersion`, "deploymentVersion.colour"},
		{"field names are case-sensitive", &model.System{}, "system",
			`{"ID": "s"}`,
			`unknown field "ID" in system; did you mean "id"?`, "system.ID"},
		{"wrong type in a list entry", &model.Deployment{}, "deployment",
			`{"id": "d", "jobAgents": [{"ref": "a", "config": "x"}]}`,
			`deployment.jobAgents[0].config: cannot use a JSON string as an object`, "deployment.jobAgents[0].config"},
		{"unknown field in a list entry", &model.Deployment{}, "deployment",
			`{"id": "d", "jobAgents": [{"ref": "a"}, {"ref": "b", "selectr": "true"}]}`,
			`unknown field "selectr" in deployment.jobAgents[1]; did you mean "selector"?`, "deployment.jobAgents[1].selectr"},
		{"selector typo", &model.Deployment{}, "deployment",
			`{"id": "d", "resourceSelector": {"cell": "true"}}`,
			`deployment.resourceSelector: unknown field "cell" in selector; did you mean "cel"?`, "deployment.resourceSelector"},
		{"metadata holds strings", &model.Deployment{}, "deployment",
			`{"id": "d", "metadata": {"team": 7}}`,
			`deployment.metadata.team: cannot use a JSON number as a string`, "deployment.metadata.team"},
		{"odd metadata key", &model.Deployment{}, "deployment",
			`{"id": "d", "metadata": {"a.b c": true}}`,
			`deployment.metadata["a.b c"]: cannot use a JSON boolean as a string`, `deployment.metadata["a.b c"]`},
		{"rule kind field", &model.Policy{}, "policy",
			`{"id": "p", "rules": [{"anyApproval": {"minApprovalz": 1}}]}`,
			`unknown field "minApprovalz" in policy.rules[0].anyApproval; did you mean "minApprovals"?`,
			"policy.rules[0].anyApproval.minApprovalz"},
		{"unknown rule kind", &model.Policy{}, "policy",
			`{"id": "p", "rules": [{"id": "r"}, {"versionCooldwn": {}}]}`,
			`unknown field "versionCooldwn" in policy.rules[1]; did you mean "versionCooldown"?`, "policy.rules[1].versionCooldwn"},
		{"progression field", &model.Policy{}, "policy",
			`{"id": "p", "rules": [{"environmentProgression": {"minimumSuccessPercent": 50}}]}`,
			`unknown field "minimumSuccessPercent" in policy.rules[0].environmentProgression; did you mean "minimumSuccessPercentage"?`,
			"policy.rules[0].environmentProgression.minimumSuccessPercent"},
		{"fraction for an integer", &model.Policy{}, "policy",
			`{"id": "p", "rules": [{"retry": {"maxRetries": 1.5}}]}`,
			`policy.rules[0].retry.maxRetries: cannot use the JSON number 1.5 as an integer`, "policy.rules[0].retry.maxRetries"},
		{"integer too large", &model.Policy{}, "policy",
			`{"id": "p", "priority": 99999999999999999999}`,
			`policy.priority: integer 99999999999999999999 does not fit in 64 bits`, "policy.priority"},
		{"selector inside a rule", &model.Policy{}, "policy",
			`{"id": "p", "rules": [{"versionSelector": {"selector": {"cel": "true", "jsno": {}}}}]}`,
			`policy.rules[0].versionSelector.selector: unknown field "jsno" in selector; did you mean "json"?`,
			"policy.rules[0].versionSelector.selector"},
		{"metric field", &model.Policy{}, "policy",
			`{"id": "p", "rules": [{"verification": {"metrics": [{"name": "m", "interval": 5}]}}]}`,
			`unknown field "interval" in policy.rules[0].verification.metrics[0]`, "policy.rules[0].verification.metrics[0].interval"},
		{"workflow job template", &model.Workflow{}, "workflow",
			`{"id": "w", "jobs": [{"id": "j", "iff": "true"}]}`,
			`unknown field "iff" in workflow.jobs[0]; did you mean "if"?`, "workflow.jobs[0].iff"},
		{"reference value typo", &model.DeploymentVariableValue{}, "deploymentVariableValue",
			`{"id": "v", "value": {"reference": "net", "pth": ["name"]}}`,
			`deploymentVariableValue.value: unknown field "pth" in reference value; did you mean "path"?`,
			"deploymentVariableValue.value"},
		{"bad time", &model.Resource{}, "resource",
			`{"id": "r", "createdAt": "yesterday"}`,
			`resource.createdAt: cannot use "yesterday" as a time: want RFC 3339, such as 2006-01-02T15:04:05Z`, "resource.createdAt"},
		{"not an object", &model.System{}, "system", `"s"`,
			`system: cannot use a JSON string as an object`, "system"},
		{"an array for an object", &model.Resource{}, "resource", `{"id": "r", "config": [1]}`,
			`resource.config: cannot use a JSON array as an object`, "resource.config"},
		{"a boolean for a string", &model.Resource{}, "resource", `{"id": "r", "name": true}`,
			`resource.name: cannot use a JSON boolean as a string`, "resource.name"},
		{"an id too long", &model.System{}, "system", `{"id": "` + long + `"}`,
			`system.id: is 256 bytes long; at most 255 are allowed`, "system.id"},
		{"a reference id too long", &model.DeploymentVersion{}, "deploymentVersion", `{"id": "v", "deploymentId": "` + long + `"}`,
			`deploymentVersion.deploymentId: is 256 bytes long; at most 255 are allowed`, "deploymentVersion.deploymentId"},
		{"a name too long", &model.Resource{}, "resource", `{"id": "r", "identifier": "` + strings.Repeat("n", 1025) + `"}`,
			`resource.identifier: is 1025 bytes long; at most 1024 are allowed`, "resource.identifier"},
		{"a job's dispatch state is checked", &model.Job{}, "job",
			`{"id": "j", "dispatch": {"attempt": 1}}`,
			`unknown field "attempt" in job.dispatch; did you mean "attempts"?`, "job.dispatch.attempt"},
		{"a job as read, with a typo inside its release", &model.Job{}, "job",
			`{"id": "j", "release": {"id": "r", "version": {"id": "v", "tga": "v1"}}}`,
			`unknown field "tga" in job.release.version; did you mean "tag"?`, "job.release.version.tga"},
		{"a wrapper's own field", &jobUpdate{}, "",
			`{"id": "j", "job": {}, "fieldsToUpdat": ["status"]}`,
			`unknown field "fieldsToUpdat"; did you mean "fieldsToUpdate"?`, "fieldsToUpdat"},
		{"a wrapper's list", &jobUpdate{}, "",
			`{"id": "j", "fieldsToUpdate": "status"}`,
			`fieldsToUpdate: cannot use a JSON string as an array`, "fieldsToUpdate"},
		{"a wrapper that is not an object", &jobUpdate{}, "", `[]`,
			`data: cannot use a JSON array as an object`, "data"},
		{"malformed", &model.System{}, "system", `{"id": "s",}`,
			`system: malformed JSON: invalid character ',' at start of value at byte 10`, "system"},
		{"truncated", &model.System{}, "system", `{"id": "s"`,
			`system: malformed JSON: unexpected EOF at byte 10`, "system"},
		{"two values", &model.System{}, "system", `{"id": "s"} {}`,
			`system: malformed JSON: more than one value`, "system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Decode([]byte(tt.in), tt.into, tt.root)
			var me *model.Error
			if !errors.As(err, &me) {
				t.Fatalf("error %v (%T), want a *model.Error", err, err)
			}
			if me.Message != tt.message || me.Field != tt.field || me.Code != model.EINVALID {
				t.Errorf("got %q (field %q, code %s)\nwant %q (field %q)", me.Message, me.Field, me.Code, tt.message, tt.field)
			}
		})
	}
}

func TestDecode_Accepts(t *testing.T) {
	tests := []struct {
		name string
		into any
		in   string
		// check looks at the decoded value.
		check func(t *testing.T, v any)
	}{
		{"a reference schema field Gatehouse keeps", &model.DeploymentVersion{},
			`{"id": "v", "tag": "v1", "message": "built", "status": "ready", "createdAt": "2030-01-01T00:00:00Z"}`,
			func(t *testing.T, v any) {
				if got := v.(*model.DeploymentVersion); got.Message != "built" || got.CreatedAt.Year() != 2030 {
					t.Errorf("decoded %+v", got)
				}
			}},
		{"open maps stay open", &model.Deployment{},
			`{"id": "d", "jobAgentConfig": {"anything": {"deep": [1, "x", null]}}, "jobAgents": [{"ref": "a", "config": {"k": 1}}]}`,
			func(t *testing.T, v any) {
				if got := v.(*model.Deployment); got.JobAgents[0].Config["k"] != float64(1) || got.JobAgentConfig["anything"] == nil {
					t.Errorf("decoded %+v", got)
				}
			}},
		{"selectors of both kinds, and none", &model.RelationshipRule{},
			`{"id": "r", "fromSelector": {"cel": "true"}, "toSelector": {"json": {"type": "kind", "operator": "equals", "value": "x"}},
			  "matcher": {"properties": [{"fromProperty": ["id"], "toProperty": ["id"], "operator": "equals"}]}}`,
			func(t *testing.T, v any) {
				if got := v.(*model.RelationshipRule); got.FromSelector.CEL == nil || got.ToSelector.JSON == nil {
					t.Errorf("decoded %+v", got)
				}
			}},
		{"null for a selector", &model.Environment{}, `{"id": "e", "resourceSelector": null}`,
			func(t *testing.T, v any) {
				if got := v.(*model.Environment); got.ResourceSelector != nil {
					t.Errorf("decoded %+v", got)
				}
			}},
		{"the soak time in either spelling", &model.EnvironmentProgressionRule{},
			`{"dependsOnEnvironmentSelector": {"cel": "true"}, "minimumSoakTimeMinutes": 30}`,
			func(t *testing.T, v any) {
				if got := v.(*model.EnvironmentProgressionRule); got.MinimumSoakTimeMinutes != 30 {
					t.Errorf("decoded %+v", got)
				}
			}},
		{"values of every shape", &struct {
			Values map[string]model.Value `json:"values"`
		}{}, `{"values": {"a": 1e2, "b": {"reference": "net", "path": ["name"]}, "c": {"sensitive": "s"}, "d": {"object": {"x": 1}}}}`,
			func(t *testing.T, v any) {
				vals := v.(*struct {
					Values map[string]model.Value `json:"values"`
				}).Values
				if vals["a"].Literal.V != json.Number("100") || vals["b"].Reference == nil || vals["c"].Sensitive == nil || vals["d"].Literal == nil {
					t.Errorf("decoded %+v", vals)
				}
			}},
		{"a job as the read API shows it", &model.Job{},
			`{"id": "j", "status": "pending", "release": {"id": "r", "version": {"id": "v", "tag": "v1"}, "variables": {"n": 1},
			  "releaseTarget": {"resourceId": "r1", "environmentId": "e", "deploymentId": "d"}},
			  "verifications": [{"id": "ver", "jobId": "j", "status": "running", "metrics": [{"name": "m", "count": 3, "measurements": []}]}],
			  "dispatch": {"attempts": 1, "lastAttemptAt": "2030-01-01T00:00:00Z"}}`,
			func(t *testing.T, v any) {
				if got := v.(*model.Job); got.ID != "j" || got.Status != "pending" {
					t.Errorf("decoded %+v", got)
				}
			}},
		{"a workflow run's inputs are open", &model.WorkflowRun{}, `{"id": "run", "workflowId": "w", "inputs": {"any": {"thing": 1}}}`,
			func(t *testing.T, v any) {
				if got := v.(*model.WorkflowRun); got.Inputs["any"] == nil {
					t.Errorf("decoded %+v", got)
				}
			}},
		{"an id at the limit", &model.System{}, `{"id": "` + strings.Repeat("x", 255) + `"}`,
			func(t *testing.T, v any) {
				if got := v.(*model.System); len(got.ID) != 255 {
					t.Errorf("decoded id of %d bytes", len(got.ID))
				}
			}},
		{"null", &model.System{}, `null`, func(t *testing.T, v any) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Decode([]byte(tt.in), tt.into, "x"); err != nil {
				t.Fatalf("refused: %v", err)
			}
			tt.check(t, tt.into)
			// The result is what encoding/json alone decodes.
			plain := reflect.New(reflect.TypeOf(tt.into).Elem()).Interface()
			if err := json.Unmarshal([]byte(tt.in), plain); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plain, tt.into) {
				t.Errorf("decoded %+v, encoding/json gives %+v", tt.into, plain)
			}
		})
	}
}

func TestDecode_NotAPointer(t *testing.T) {
	var s model.System
	if err := Decode([]byte(`{}`), s, "system"); err == nil {
		t.Error("decoding into a non-pointer was accepted")
	}
}

func TestFieldsOf_CachedAndComplete(t *testing.T) {
	a, b := fieldsOf(reflect.TypeFor[model.VerificationMetricStatus]()), fieldsOf(reflect.TypeFor[model.VerificationMetricStatus]())
	if a != b {
		t.Error("field table built twice")
	}
	// The embedded metric's fields are promoted, as encoding/json does.
	for _, name := range []string{"name", "provider", "successCondition", "measurements"} {
		if _, ok := a.byName[name]; !ok {
			t.Errorf("field %q missing from %v", name, a.names)
		}
	}
}
