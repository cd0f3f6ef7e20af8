package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Fixtures: constructors with random ids, so that tests sharing a database
// never collide.

func randID(prefix string) string { return prefix + "-" + strings.ToLower(rand.Text()[:12]) }

var fixtureTime = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)

func newResource(ws string) *model.Resource {
	id := randID("res")
	return &model.Resource{
		ID: id, WorkspaceID: ws, Name: "cluster " + id, Version: "v1", Kind: "KubernetesCluster",
		Identifier: "id/" + id,
		Config: map[string]any{"server": "https://" + id + ".example.com", "namespace": "default",
			"labels": map[string]any{"tier": "backend", "replicas": json.Number("3")}},
		Metadata:  map[string]string{"region": "eu-west-1", "env": "prod", "team": "platform", "cost": "cc-42"},
		CreatedAt: fixtureTime,
	}
}

func newVersion(deploymentID string) *model.DeploymentVersion {
	id := randID("ver")
	return &model.DeploymentVersion{ID: id, Name: "build " + id, Tag: "v1.2.3-" + id, DeploymentID: deploymentID,
		Status: model.VersionReady, Config: map[string]any{"image": "registry/app:" + id},
		JobAgentConfig: map[string]any{}, Metadata: map[string]string{"commit": "0123abc"}, CreatedAt: fixtureTime}
}

func newRelease(res *model.Resource, envID, depID string, ver *model.DeploymentVersion) *model.Release {
	return &model.Release{
		ID:      randID("rel"),
		Version: ver,
		Variables: map[string]model.LiteralValue{
			"replicas": {V: json.Number("3")}, "image": {V: "registry/app:" + ver.Tag}, "debug": {V: false}},
		EncryptedVariables: []string{},
		ReleaseTarget:      model.ReleaseTarget{ResourceID: res.ID, EnvironmentID: envID, DeploymentID: depID},
		CreatedAt:          fixtureTime,
	}
}

func newJob(rel *model.Release, agent *model.JobAgent, res *model.Resource) *model.Job {
	return &model.Job{
		ID: randID("job"), ReleaseID: rel.ID, JobAgentID: agent.ID, JobAgentConfig: map[string]any{"workflow": "deploy.yml"},
		Status: model.JobPending, Metadata: map[string]string{},
		DispatchContext: &model.DispatchContext{JobAgent: *agent, JobAgentConfig: map[string]any{"workflow": "deploy.yml"},
			Release: rel, Resource: res, Version: rel.Version, Variables: rel.Variables},
		CreatedAt: fixtureTime, UpdatedAt: fixtureTime,
	}
}

// fixture holds one entity of every durable table of one workspace.
type fixture struct {
	workspace   *model.Workspace
	event       *model.ProcessedEvent
	offset      *model.ConsumerOffset
	deadLetter  *model.DeadLetter
	system      *model.System
	provider    *model.ResourceProvider
	resource    *model.Resource
	environment *model.Environment
	agent       *model.JobAgent
	deployment  *model.Deployment
	sysDep      *model.SystemDeploymentLink
	sysEnv      *model.SystemEnvironmentLink
	version     *model.DeploymentVersion
	variable    *model.DeploymentVariable
	value       *model.DeploymentVariableValue
	resVar      *model.ResourceVariable
	policy      *model.Policy
	skip        *model.PolicySkip
	approval    *model.UserApprovalRecord
	rule        *model.RelationshipRule
	workflow    *model.Workflow
	run         *model.WorkflowRun
	wfJob       *model.WorkflowJob
	release     *model.Release
	job         *model.Job
	snapshot    *model.EntitySnapshot
	check       *model.JobVerification
	measurement *model.MeasurementRecord
	freeze      *model.Freeze
	varSet      *model.VariableSet
	plan        *model.DeploymentPlan
}

func newFixture(ws string) *fixture {
	f := &fixture{workspace: &model.Workspace{ID: ws, CreatedAt: fixtureTime}}
	f.event = &model.ProcessedEvent{ID: randID("evt"), EventType: "resource.created", ProcessedAt: fixtureTime}
	f.offset = &model.ConsumerOffset{Topic: "events", Partition: 3, Next: 42, UpdatedAt: fixtureTime}
	index := 1
	f.deadLetter = &model.DeadLetter{LogPosition: model.LogPosition{Topic: "events", Partition: 3, Offset: 40},
		Key: ws, Value: `{"eventType": "resource.created"}`, ValueEncoding: model.ValueText, ValueBytes: 33,
		Error: "event 1 (resource.created): resource.id: is required", Code: model.EINVALID, Field: "resource.id",
		Index: &index, Applied: 1, RecordedAt: fixtureTime}
	f.system = &model.System{ID: randID("sys"), WorkspaceID: ws, Name: "payments"}
	f.provider = &model.ResourceProvider{ID: randID("prov"), WorkspaceID: ws, Name: "aws", CreatedAt: fixtureTime,
		Metadata: map[string]string{}}
	f.resource = newResource(ws)
	f.resource.ProviderID = f.provider.ID
	f.environment = &model.Environment{ID: randID("env"), Name: "prod", Metadata: map[string]string{},
		ResourceSelector: model.CELSelector(`resource.metadata["env"] == "prod"`), CreatedAt: fixtureTime}
	f.agent = &model.JobAgent{ID: randID("agent"), WorkspaceID: ws, Name: "gha", Type: "github-app",
		Config: map[string]any{"installationId": json.Number("42")}}
	f.deployment = &model.Deployment{ID: randID("dep"), Name: "api", Slug: "api", JobAgentID: f.agent.ID,
		JobAgentConfig: map[string]any{}, Metadata: map[string]string{},
		ResourceSelector: &model.Selector{JSON: map[string]any{"type": "kind", "operator": "equals", "value": "KubernetesCluster"}}}
	f.sysDep = &model.SystemDeploymentLink{SystemID: f.system.ID, DeploymentID: f.deployment.ID}
	f.sysEnv = &model.SystemEnvironmentLink{SystemID: f.system.ID, EnvironmentID: f.environment.ID}
	f.version = newVersion(f.deployment.ID)
	f.variable = &model.DeploymentVariable{ID: randID("var"), Key: "replicas", DeploymentID: f.deployment.ID,
		DefaultValue: &model.LiteralValue{V: json.Number("2")}}
	f.value = &model.DeploymentVariableValue{ID: randID("val"), DeploymentVariableID: f.variable.ID, Priority: 10,
		Value: model.Value{Literal: &model.LiteralValue{V: json.Number("5")}}}
	f.resVar = &model.ResourceVariable{ResourceID: f.resource.ID, Key: "vpc",
		Value: model.Value{Reference: &model.ReferenceValue{Reference: "network", Path: []string{"metadata", "vpc"}}}}
	f.policy = &model.Policy{ID: randID("pol"), WorkspaceID: ws, Name: "approvals", CreatedAt: fixtureTime,
		Enabled: true, Selector: "true", Metadata: map[string]string{},
		Rules: []model.PolicyRule{{ID: randID("rule"), AnyApproval: &model.AnyApprovalRule{MinApprovals: 1}, CreatedAt: fixtureTime}}}
	f.skip = &model.PolicySkip{ID: randID("skip"), WorkspaceID: ws, VersionID: f.version.ID,
		RuleID: f.policy.Rules[0].ID, Reason: "hotfix", CreatedBy: "alice", CreatedAt: fixtureTime}
	f.approval = &model.UserApprovalRecord{UserID: "alice", VersionID: f.version.ID, EnvironmentID: f.environment.ID,
		Status: model.ApprovalApproved, CreatedAt: fixtureTime}
	f.rule = &model.RelationshipRule{ID: randID("rr"), WorkspaceID: ws, Name: "network", Reference: "network",
		RelationshipType: "uses", FromType: model.EntityResource, ToType: model.EntityResource,
		Matcher: model.RelationshipMatcher{Properties: []model.PropertyMatcher{
			{FromProperty: []string{"metadata", "vpc"}, ToProperty: []string{"id"}, Operator: "equals"}}},
		Metadata: map[string]string{}}
	f.workflow = &model.Workflow{ID: randID("wf"), Name: "smoke", Inputs: []map[string]any{{"name": "target"}},
		Jobs: []model.WorkflowJobTemplate{{ID: randID("tpl"), Name: "run", Ref: f.agent.ID, Config: map[string]any{}}}}
	f.run = &model.WorkflowRun{ID: randID("run"), WorkflowID: f.workflow.ID, Inputs: map[string]any{"target": "prod"}}
	f.wfJob = &model.WorkflowJob{ID: randID("wfj"), WorkflowRunID: f.run.ID, Ref: f.agent.ID, Config: map[string]any{}}
	f.release = newRelease(f.resource, f.environment.ID, f.deployment.ID, f.version)
	f.job = newJob(f.release, f.agent, f.resource)
	// The job names its resource by a snapshot, as the engine stores jobs.
	data, _ := json.Marshal(f.resource)
	f.snapshot = &model.EntitySnapshot{ID: randID("snap"), Kind: store.SnapshotResource, Data: data}
	f.job.DispatchContext.Snapshots = &model.SnapshotRefs{Resource: f.snapshot.ID}
	f.check = &model.JobVerification{ID: randID("ver"), JobID: f.job.ID, RuleID: "rule", Status: model.VerificationRunning,
		Metrics: []model.VerificationMetricStatus{{
			VerificationMetric: model.VerificationMetric{Name: "errors", Provider: map[string]any{"type": "sleep", "durationSeconds": 1.0},
				Count: 2, SuccessCondition: "result.ok"},
			Measurements: []model.VerificationMeasurement{{Status: model.MeasurementPassed, MeasuredAt: f.job.CreatedAt}},
		}}, CreatedAt: f.job.CreatedAt}
	f.measurement = &model.MeasurementRecord{VerificationID: f.check.ID, MetricIndex: 0, Sequence: 1,
		VerificationMeasurement: model.VerificationMeasurement{Status: model.MeasurementFailed, MeasuredAt: f.job.CreatedAt,
			Message: "successCondition not met", Data: map[string]any{"ok": false}}}
	f.freeze = &model.Freeze{ID: randID("frz"), WorkspaceID: ws, Selector: `environment.name == "prod"`,
		Reason: "incident 42", Until: fixtureTime.Add(time.Hour), CreatedAt: fixtureTime}
	f.varSet = &model.VariableSet{ID: randID("vs"), WorkspaceID: ws, Name: "eu defaults", Selector: "true", Priority: 5,
		Variables: []model.VariableSetVariable{{Key: "region", Value: model.Value{Literal: &model.LiteralValue{V: "eu-west-1"}}}},
		CreatedAt: fixtureTime, UpdatedAt: fixtureTime}
	f.plan = &model.DeploymentPlan{ID: randID("plan"), WorkspaceID: ws, DeploymentID: f.deployment.ID, Status: model.PlanCompleted,
		Version:  model.PlannedVersion{Tag: "v2", Config: map[string]any{}, JobAgentConfig: map[string]any{}, Metadata: map[string]string{}},
		Metadata: map[string]string{}, Summary: model.PlanSummary{Total: 1, Changed: 1},
		Targets: []model.PlanTarget{{Key: "k", ResourceID: f.resource.ID, HasChanges: true,
			Results: []model.PlanResult{{Status: model.PlanComputed, HasChanges: true, Proposed: "a: 1\n", Diff: "+a: 1\n"}}}},
		CreatedAt: fixtureTime, CompletedAt: fixtureTime, ExpiresAt: fixtureTime.Add(24 * time.Hour)}
	return f
}

// upsert writes every entity of f through tx.
func (f *fixture) upsert(t testing.TB, tx *store.Tx) {
	t.Helper()
	errs := []error{
		store.Workspaces.Upsert(tx, f.workspace.ID, f.workspace),
		store.ProcessedEvents.Upsert(tx, f.event.ID, f.event),
		store.ConsumerOffsets.Upsert(tx, f.offset.Key(), f.offset),
		store.DeadLetters.Upsert(tx, f.deadLetter.ID(), f.deadLetter),
		store.Systems.Upsert(tx, f.system.ID, f.system),
		store.ResourceProviders.Upsert(tx, f.provider.ID, f.provider),
		store.Resources.Upsert(tx, f.resource.ID, f.resource),
		store.Environments.Upsert(tx, f.environment.ID, f.environment),
		store.JobAgents.Upsert(tx, f.agent.ID, f.agent),
		store.Deployments.Upsert(tx, f.deployment.ID, f.deployment),
		store.SystemDeployments.Upsert(tx, f.sysDep.Key(), f.sysDep),
		store.SystemEnvironments.Upsert(tx, f.sysEnv.Key(), f.sysEnv),
		store.DeploymentVersions.Upsert(tx, f.version.ID, f.version),
		store.DeploymentVariables.Upsert(tx, f.variable.ID, f.variable),
		store.DeploymentVariableValues.Upsert(tx, f.value.ID, f.value),
		store.ResourceVariables.Upsert(tx, f.resVar.ID(), f.resVar),
		store.Policies.Upsert(tx, f.policy.ID, f.policy),
		store.PolicySkips.Upsert(tx, f.skip.ID, f.skip),
		store.UserApprovalRecords.Upsert(tx, f.approval.ID(), f.approval),
		store.RelationshipRules.Upsert(tx, f.rule.ID, f.rule),
		store.Workflows.Upsert(tx, f.workflow.ID, f.workflow),
		store.WorkflowRuns.Upsert(tx, f.run.ID, f.run),
		store.WorkflowJobs.Upsert(tx, f.wfJob.ID, f.wfJob),
		store.Releases.Upsert(tx, f.release.ID, f.release),
		store.EntitySnapshots.Upsert(tx, f.snapshot.ID, f.snapshot),
		store.Jobs.Upsert(tx, f.job.ID, f.job),
		store.JobVerifications.Upsert(tx, f.check.ID, f.check),
		store.VerificationMeasurements.Upsert(tx, f.measurement.Key(), f.measurement),
		store.Freezes.Upsert(tx, f.freeze.ID, f.freeze),
		store.VariableSets.Upsert(tx, f.varSet.ID, f.varSet),
		store.DeploymentPlans.Upsert(tx, f.plan.ID, f.plan),
	}
	for _, err := range errs {
		if err != nil {
			t.Fatalf("upsert fixture: %v", err)
		}
	}
}

// newStore returns an empty store for ws, written through to db unless db is
// nil.
func newStore(t testing.TB, ws string, db *sqlstore.DB) *store.Store {
	t.Helper()
	var opts []store.Option
	if db != nil {
		opts = append(opts, store.WithPersister(db))
	}
	st, err := store.New(ws, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// loaded loads ws from db into a fresh store and dumps it.
func loaded(t testing.TB, db *sqlstore.DB, ws string) map[string]string {
	t.Helper()
	st, err := store.New(ws)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadWorkspace(context.Background(), ws, st); err != nil {
		t.Fatalf("load %s: %v", ws, err)
	}
	return storetest.Dump(t, st.Snapshot(), true)
}

// assertSame fails t for every table whose dumps differ.
func assertSame(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if g := got[name]; g != w {
			t.Errorf("%s: table %s differs\n got: %.600s\nwant: %.600s", what, name, g, w)
		}
	}
}
