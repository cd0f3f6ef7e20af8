package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// rawEvent is an event whose payload is given as JSON text, so that poison
// reaches the engine as a producer would send it.
func rawEvent(eventType, data string) Event {
	return Event{Type: eventType, Data: json.RawMessage(data)}
}

// refused applies events, expecting the one at index to be refused with an
// EINVALID error naming field and containing text, the ones before it
// applied and nothing else changed.
func refused(t *testing.T, h *harness, index int, field, text string, events ...Event) {
	t.Helper()
	before := storetest.Dump(t, h.snapshot(), false)
	err := h.eng.Apply(context.Background(), h.ws, events)
	var ee *EventError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v (%T), want an *EventError", err, err)
	}
	if ee.Index != index || ee.Applied != index {
		t.Errorf("index %d, applied %d; want %d, %d", ee.Index, ee.Applied, index, index)
	}
	if model.ErrorCode(err) != model.EINVALID || model.ErrorField(err) != field || !strings.Contains(err.Error(), text) {
		t.Errorf("got %q (code %s, field %q), want field %q and %q", err, model.ErrorCode(err), model.ErrorField(err), field, text)
	}
	if index == 0 {
		if after := storetest.Dump(t, h.snapshot(), false); !equalDumps(before, after) {
			t.Error("a refused event changed the workspace")
		}
	}
}

func equalDumps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestApply_RefusesPoison(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name        string
		ev          Event
		field, text string
	}{
		{"escaped NUL in a name", rawEvent("resource.created", `{"id": "r9", "name": "a\u0000b", "identifier": "r9"}`),
			"data.name", "NUL character"},
		{"escaped NUL in a metadata key", rawEvent("resource.created", `{"id": "r9", "identifier": "r9", "metadata": {"\u0000": "x"}}`),
			"data.metadata", "a field name contains a NUL"},
		{"raw NUL in a config value", rawEvent("resource.created", "{\"id\": \"r9\", \"identifier\": \"r9\", \"config\": {\"k\": \"\x00\"}}"),
			"data.config.k", "NUL byte"},
		{"a number beyond float64", rawEvent("deployment-variable.created", `{"id": "dv", "key": "k", "deploymentId": "api", "defaultValue": 1e400000}`),
			"data.defaultValue", "out of range"},
		{"a 200,000-digit integer", rawEvent("deployment-variable.created", `{"id": "dv", "key": "k", "deploymentId": "api", "defaultValue": `+strings.Repeat("7", 200_000)+`}`),
			"data.defaultValue", "does not fit in 64 bits"},
		{"an event id too long", Event{Type: "system.created", ID: long, Data: json.RawMessage(`{"id": "s9", "name": "s9"}`)},
			"eventId", "at most 255"},
		{"a NUL in an event id", Event{Type: "system.created", ID: "a\x00", Data: json.RawMessage(`{"id": "s9", "name": "s9"}`)},
			"eventId", "NUL"},
		{"an entity id too long", rawEvent("system.created", `{"id": "`+long+`", "name": "s9"}`),
			"system.id", "at most 255"},
		{"a string over 1 MiB", rawEvent("system.created", `{"id": "s9", "description": "`+strings.Repeat("d", 1<<20+1)+`"}`),
			"data.description", "at most 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			base(h)
			refused(t, h, 0, tt.field, tt.text, tt.ev)
		})
	}
}

func TestApply_RefusesAWorkspaceIDThatCannotBeStored(t *testing.T) {
	eng := New(Config{})
	for _, ws := range []string{"", strings.Repeat("w", 256), "w\x00"} {
		err := eng.Apply(context.Background(), ws, []Event{rawEvent("system.created", `{"id": "s", "name": "s"}`)})
		if model.ErrorCode(err) != model.EINVALID || model.ErrorField(err) != "workspaceId" {
			t.Errorf("workspace %.20q: %v", ws, err)
		}
	}
}

// TestApply_StrictPayloads sends every kind of payload with a field its
// type does not have.
func TestApply_StrictPayloads(t *testing.T) {
	tests := []struct {
		name        string
		ev          Event
		field, text string
	}{
		{"entity", rawEvent("deployment-version.created", `{"id": "v1", "tag": "v1", "deploymentId": "api", "stauts": "building"}`),
			"deploymentVersion.stauts", `unknown field "stauts" in deploymentVersion; did you mean "status"?`},
		{"entity delete", rawEvent("resource.deleted", `{"id": "r1", "identifer": "r1"}`),
			"resource.identifer", `did you mean "identifier"?`},
		{"nested entry", rawEvent("deployment.updated", `{"id": "api", "jobAgents": [{"ref": "a", "config": "x"}]}`),
			"deployment.jobAgents[0].config", "cannot use a JSON string as an object"},
		{"policy rule", rawEvent("policy.created", `{"id": "p", "selector": "true", "rules": [{"gradualRollout": {"rolloutTyp": "linear"}}]}`),
			"policy.rules[0].gradualRollout.rolloutTyp", `did you mean "rolloutType"?`},
		{"system link", rawEvent("system-deployment.linked", `{"systemId": "s", "deploymentID": "api"}`),
			"systemDeploymentLink.deploymentID", `did you mean "deploymentId"?`},
		{"job.updated envelope", rawEvent("job.updated", `{"id": "j", "job": {"status": "successful"}, "fieldsToUpdat": ["status"]}`),
			"fieldsToUpdat", `unknown field "fieldsToUpdat"; did you mean "fieldsToUpdate"?`},
		{"job.updated job", rawEvent("job.updated", `{"id": "j", "job": {"stauts": "successful"}, "fieldsToUpdate": ["status"]}`),
			"job.stauts", `unknown field "stauts" in job; did you mean "status"?`},
		{"job.updated job type", rawEvent("job.updated", `{"id": "j", "job": {"status": 3}}`),
			"job.status", "cannot use a JSON number as a string"},
		{"resource-variables.bulk-updated", rawEvent("resource-variables.bulk-updated", `{"resourceId": "r1", "variable": {}}`),
			"variable", `did you mean "variables"?`},
		{"resource-variables.bulk-updated value", rawEvent("resource-variables.bulk-updated", `{"resourceId": "r1", "variables": {"k": {"reference": "x", "pat": []}}}`),
			"variables.k", `unknown field "pat" in reference value; did you mean "path"?`},
		{"release-target.deploy", rawEvent("release-target.deploy", `{"resourceID": "r1", "environmentId": "prod", "deploymentId": "api"}`),
			"releaseTarget.resourceID", `did you mean "resourceId"?`},
		{"workflow-run.created", rawEvent("workflow-run.created", `{"id": "run", "workflowId": "w", "input": {}}`),
			"workflowRun.input", `did you mean "inputs"?`},
		{"workflow job template", rawEvent("workflow.created", `{"id": "w", "name": "w", "jobs": [{"id": "j", "ref": "a", "iff": "true"}]}`),
			"workflow.jobs[0].iff", `did you mean "if"?`},
		{"resource-provider.set-resources", rawEvent("resource-provider.set-resources", `{"providerId": "p", "resource": []}`),
			"resource", `did you mean "resources"?`},
		{"a resource of a provider's set", rawEvent("resource-provider.set-resources", `{"providerId": "p", "resources": [{"identifier": "x", "nmae": "x"}]}`),
			"resources[0].nmae", `unknown field "nmae" in resources[0]; did you mean "name"?`},
		{"an entity event without data", rawEvent("system.created", `null`), "data", "a system is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			base(h)
			h.must("resource.created", resource("r1", map[string]string{"env": "prod"}))
			h.must("resource-provider.created", map[string]any{"id": "p", "name": "p"})
			refused(t, h, 0, tt.field, tt.text, tt.ev)
		})
	}
}

func TestApply_BatchStopsAtTheRefusedEvent(t *testing.T) {
	h := newHarness(t)
	base(h)
	ok := rawEvent("system.created", `{"id": "s2", "name": "s2"}`)
	bad := rawEvent("system.created", `{"id": "s3", "nmae": "s3"}`)
	never := rawEvent("system.created", `{"id": "s4", "name": "s4"}`)
	refused(t, h, 1, "system.nmae", `event 1 (system.created): unknown field "nmae" in system; did you mean "name"?`, ok, bad, never)
	snap := h.snapshot()
	if !store.Systems.Has(snap, "s2") || store.Systems.Has(snap, "s3") || store.Systems.Has(snap, "s4") {
		t.Error("want s2 applied, s3 and s4 not")
	}
}

func TestApply_UnknownEventTypeNamesTheClosest(t *testing.T) {
	tests := []struct{ eventType, want string }{
		{"deployment.create", `unknown event type "deployment.create"; did you mean "deployment.created"?`},
		{"job.update", `unknown event type "job.update"; did you mean "job.updated"?`},
		{"resource-variable.upserted", `did you mean "resource-variable.updated"?`},
		{"zzz", `unknown event type "zzz"; the closest known types are `},
	}
	for _, tt := range tests {
		h := newHarness(t)
		err := h.eng.Apply(context.Background(), h.ws, []Event{{Type: tt.eventType}})
		if model.ErrorField(err) != "eventType" || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v (field %q), want %q", tt.eventType, err, model.ErrorField(err), tt.want)
		}
	}
}

func TestApply_AcceptsAJobAsRead(t *testing.T) {
	h := newHarness(t)
	world(h, "r1")
	h.must("deployment-version.created", version("v1", time.Time{}, ""))
	j := h.jobsOn(prodKey("r1"))[0]
	// The job as the read API shows it: with its release, verifications
	// and dispatch state, and the fields the reference schema gives a job.
	asRead := map[string]any{}
	raw, _ := json.Marshal(j)
	_ = json.Unmarshal(raw, &asRead)
	rel, _ := store.Releases.Get(h.snapshot(), j.ReleaseID)
	asRead["release"] = rel
	asRead["verifications"] = []any{}
	asRead["dispatch"] = map[string]any{"attempts": 0}
	asRead["status"] = model.JobSuccessful
	h.must("job.updated", map[string]any{"id": j.ID, "job": asRead, "fieldsToUpdate": []string{"status"}})
	if got := h.job(j.ID).Status; got != model.JobSuccessful {
		t.Errorf("status %s after the update", got)
	}
}
