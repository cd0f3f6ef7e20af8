// Package storetest is one test suite for the store, run against every
// backend: memory alone, and memory written through to SQLite or PostgreSQL.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Exercise runs the suite. newStore returns an empty store for a fresh
// workspace on the backend under test.
func Exercise(t *testing.T, newStore func(t *testing.T) *store.Store) {
	t.Run("Table_UpsertGetRemove", func(t *testing.T) { testUpsertGetRemove(t, newStore(t)) })
	t.Run("Lookup_FollowsUpdates", func(t *testing.T) { testLookupFollowsUpdates(t, newStore(t)) })
	t.Run("Table_Upsert_IDMismatch", func(t *testing.T) { testIDMismatch(t, newStore(t)) })
	t.Run("Tx_Abort", func(t *testing.T) { testAbort(t, newStore(t)) })
	t.Run("Snapshot_Isolation", func(t *testing.T) { testSnapshotIsolation(t, newStore(t)) })
	t.Run("Tx_RollbackTo", func(t *testing.T) { testRollbackTo(t, newStore(t)) })
}

// ID returns a random id for fixtures.
func ID() string { return uuid.NewString() }

// Fixture is one sample entity per durable kind, with a way to change it.
type Fixture struct {
	Name   string
	Put    func(tx *store.Tx) (id string, err error)
	Has    func(r store.Reader, id string) bool
	Remove func(tx *store.Tx, id string) error
}

func fixture[T any](name string, table *store.Table[T], make func() *T) Fixture {
	return Fixture{
		Name: name,
		Put: func(tx *store.Tx) (string, error) {
			v := make()
			id := table.Key(v)
			return id, table.Upsert(tx, id, v)
		},
		Has:    table.Has,
		Remove: func(tx *store.Tx, id string) error { return table.Remove(tx, id) },
	}
}

// Fixtures returns a fixture for every durable table, so a test can prove
// every collection works through the generic repository.
func Fixtures() []Fixture {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return []Fixture{
		fixture("system", store.Systems, func() *model.System { return &model.System{ID: ID(), Name: "s"} }),
		fixture("deployment", store.Deployments, func() *model.Deployment {
			return &model.Deployment{ID: ID(), Name: "d", Slug: "d", ResourceSelector: model.CELSelector("true")}
		}),
		fixture("environment", store.Environments, func() *model.Environment {
			return &model.Environment{ID: ID(), Name: "e", CreatedAt: now}
		}),
		fixture("resource", store.Resources, func() *model.Resource {
			id := ID()
			return &model.Resource{ID: id, Name: "r", Identifier: "r-" + id, Kind: "Cluster", CreatedAt: now,
				Config: map[string]any{"replicas": 3.0}, Metadata: map[string]string{"env": "prod"}}
		}),
		fixture("resource provider", store.ResourceProviders, func() *model.ResourceProvider {
			return &model.ResourceProvider{ID: ID(), Name: "p", CreatedAt: now}
		}),
		fixture("resource variable", store.ResourceVariables, func() *model.ResourceVariable {
			return &model.ResourceVariable{ResourceID: ID(), Key: "k", Value: model.Value{Literal: &model.LiteralValue{V: "v"}}}
		}),
		fixture("deployment version", store.DeploymentVersions, func() *model.DeploymentVersion {
			return &model.DeploymentVersion{ID: ID(), Tag: "v-" + ID(), DeploymentID: ID(), Status: model.VersionReady, CreatedAt: now}
		}),
		fixture("deployment variable", store.DeploymentVariables, func() *model.DeploymentVariable {
			return &model.DeploymentVariable{ID: ID(), Key: "k", DeploymentID: ID()}
		}),
		fixture("deployment variable value", store.DeploymentVariableValues, func() *model.DeploymentVariableValue {
			return &model.DeploymentVariableValue{ID: ID(), DeploymentVariableID: ID(), Priority: 1,
				Value: model.Value{Reference: &model.ReferenceValue{Reference: "vpc", Path: []string{"id"}}}}
		}),
		fixture("job agent", store.JobAgents, func() *model.JobAgent {
			return &model.JobAgent{ID: ID(), Name: "a", Type: "custom"}
		}),
		fixture("release", store.Releases, func() *model.Release {
			return &model.Release{ID: ID(), ReleaseTarget: model.ReleaseTarget{ResourceID: ID(), EnvironmentID: ID(), DeploymentID: ID()}, CreatedAt: now}
		}),
		fixture("job", store.Jobs, func() *model.Job {
			return &model.Job{ID: ID(), ReleaseID: ID(), JobAgentID: ID(), Status: model.JobPending, CreatedAt: now, UpdatedAt: now}
		}),
		fixture("job verification", store.JobVerifications, func() *model.JobVerification {
			return &model.JobVerification{ID: ID(), JobID: ID(), Status: model.VerificationRunning, CreatedAt: now}
		}),
		fixture("verification measurement", store.VerificationMeasurements, func() *model.MeasurementRecord {
			return &model.MeasurementRecord{VerificationID: ID(), MetricIndex: 1, Sequence: 2,
				VerificationMeasurement: model.VerificationMeasurement{Status: model.MeasurementPassed, MeasuredAt: now}}
		}),
		fixture("policy", store.Policies, func() *model.Policy {
			return &model.Policy{ID: ID(), Name: "p", Selector: "true", Enabled: true, CreatedAt: now}
		}),
		fixture("policy skip", store.PolicySkips, func() *model.PolicySkip {
			return &model.PolicySkip{ID: ID(), VersionID: ID(), RuleID: ID(), CreatedAt: now}
		}),
		fixture("approval", store.UserApprovalRecords, func() *model.UserApprovalRecord {
			return &model.UserApprovalRecord{UserID: ID(), VersionID: ID(), EnvironmentID: ID(), Status: model.ApprovalApproved, CreatedAt: now}
		}),
		fixture("relationship rule", store.RelationshipRules, func() *model.RelationshipRule {
			cel := "true"
			return &model.RelationshipRule{ID: ID(), Name: "r", Reference: "vpc", FromType: "resource", ToType: "resource",
				Matcher: model.RelationshipMatcher{CEL: &cel}}
		}),
		fixture("freeze", store.Freezes, func() *model.Freeze {
			return &model.Freeze{ID: ID(), Selector: "true", Reason: "incident", CreatedAt: now}
		}),
		fixture("variable set", store.VariableSets, func() *model.VariableSet {
			lit := model.LiteralValue{V: "warn"}
			return &model.VariableSet{ID: ID(), Name: "defaults", Selector: "true", Priority: 1, CreatedAt: now, UpdatedAt: now,
				Variables: []model.VariableSetVariable{{Key: "logLevel", Value: model.Value{Literal: &lit}}}}
		}),
		fixture("deployment plan", store.DeploymentPlans, func() *model.DeploymentPlan {
			return &model.DeploymentPlan{ID: ID(), DeploymentID: ID(), Status: model.PlanCompleted, CreatedAt: now,
				CompletedAt: now, ExpiresAt: now.Add(time.Hour), Targets: []model.PlanTarget{}}
		}),
		fixture("workflow", store.Workflows, func() *model.Workflow { return &model.Workflow{ID: ID(), Name: "w"} }),
		fixture("workflow run", store.WorkflowRuns, func() *model.WorkflowRun { return &model.WorkflowRun{ID: ID(), WorkflowID: ID()} }),
		fixture("workflow job", store.WorkflowJobs, func() *model.WorkflowJob { return &model.WorkflowJob{ID: ID(), WorkflowRunID: ID()} }),
		fixture("system deployment link", store.SystemDeployments, func() *model.SystemDeploymentLink {
			return &model.SystemDeploymentLink{SystemID: ID(), DeploymentID: ID()}
		}),
		fixture("system environment link", store.SystemEnvironments, func() *model.SystemEnvironmentLink {
			return &model.SystemEnvironmentLink{SystemID: ID(), EnvironmentID: ID()}
		}),
		fixture("workspace", store.Workspaces, func() *model.Workspace { return &model.Workspace{ID: ID(), CreatedAt: now} }),
		fixture("processed event", store.ProcessedEvents, func() *model.ProcessedEvent {
			return &model.ProcessedEvent{ID: ID(), EventType: "resource.created", ProcessedAt: now}
		}),
		fixture("consumer offset", store.ConsumerOffsets, func() *model.ConsumerOffset {
			return &model.ConsumerOffset{Topic: ID(), Partition: 7, Next: 12, UpdatedAt: now}
		}),
		fixture("dead letter", store.DeadLetters, func() *model.DeadLetter {
			return &model.DeadLetter{LogPosition: model.LogPosition{Topic: ID(), Partition: 1, Offset: 9}, Key: ID(),
				Value: "{", ValueEncoding: model.ValueText, ValueBytes: 1, Error: "body: malformed JSON",
				Code: model.EINVALID, Field: "body", RecordedAt: now}
		}),
	}
}

func commit(t *testing.T, s *store.Store, fn func(tx *store.Tx) error) {
	t.Helper()
	tx := s.Begin(context.Background())
	defer tx.Abort()
	if err := fn(tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func testUpsertGetRemove(t *testing.T, s *store.Store) {
	for _, f := range Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			var id string
			commit(t, s, func(tx *store.Tx) (err error) { id, err = f.Put(tx); return err })
			if !f.Has(s.Snapshot(), id) {
				t.Fatalf("%s %s not visible after commit", f.Name, id)
			}
			commit(t, s, func(tx *store.Tx) error { return f.Remove(tx, id) })
			if f.Has(s.Snapshot(), id) {
				t.Fatalf("%s %s still visible after remove", f.Name, id)
			}
			tx := s.Begin(context.Background())
			defer tx.Abort()
			if err := f.Remove(tx, id); !errors.Is(err, model.ErrNotFound) {
				t.Fatalf("removing a missing %s: want ErrNotFound, got %v", f.Name, err)
			}
		})
	}
}

func testLookupFollowsUpdates(t *testing.T, s *store.Store) {
	dep1, dep2 := ID(), ID()
	v := &model.DeploymentVersion{ID: ID(), Tag: "v1", DeploymentID: dep1, Status: model.VersionReady, CreatedAt: time.Now().UTC()}
	commit(t, s, func(tx *store.Tx) error { return store.DeploymentVersions.Upsert(tx, v.ID, v) })
	if got := store.VersionsByDeployment.Get(s.Snapshot(), dep1); len(got) != 1 || got[0].ID != v.ID {
		t.Fatalf("versions of deployment 1: want [%s], got %v", v.ID, got)
	}
	moved := *v
	moved.DeploymentID = dep2
	commit(t, s, func(tx *store.Tx) error { return store.DeploymentVersions.Upsert(tx, moved.ID, &moved) })
	snap := s.Snapshot()
	if got := store.VersionsByDeployment.Get(snap, dep1); len(got) != 0 {
		t.Fatalf("after the update deployment 1 still lists %d versions", len(got))
	}
	if got := store.VersionsByDeployment.Get(snap, dep2); len(got) != 1 {
		t.Fatalf("after the update deployment 2 lists %d versions, want 1", len(got))
	}
	commit(t, s, func(tx *store.Tx) error { return store.DeploymentVersions.Remove(tx, v.ID) })
	if got := store.VersionsByDeployment.Get(s.Snapshot(), dep2); len(got) != 0 {
		t.Fatalf("after the removal deployment 2 still lists %d versions", len(got))
	}
}

func testIDMismatch(t *testing.T, s *store.Store) {
	r := &model.Resource{ID: ID(), Name: "r", Identifier: "x"}
	tx := s.Begin(context.Background())
	defer tx.Abort()
	err := store.Resources.Upsert(tx, ID(), r)
	if model.ErrorCode(err) != model.EINVALID {
		t.Fatalf("upsert under another id: want an invalid error, got %v", err)
	}
	if n := len(tx.Changes()); n != 0 {
		t.Fatalf("a refused write was recorded: %d changes", n)
	}
}

func testAbort(t *testing.T, s *store.Store) {
	sys := &model.System{ID: ID(), Name: "s"}
	tx := s.Begin(context.Background())
	if err := store.Systems.Upsert(tx, sys.ID, sys); err != nil {
		t.Fatal(err)
	}
	if !store.Systems.Has(tx, sys.ID) {
		t.Fatal("a transaction does not see its own write")
	}
	tx.Abort()
	if store.Systems.Has(s.Snapshot(), sys.ID) {
		t.Fatal("an aborted write is visible")
	}
}

func testSnapshotIsolation(t *testing.T, s *store.Store) {
	tx := s.Begin(context.Background())
	defer tx.Abort()
	for i := range 3 {
		sys := &model.System{ID: ID(), Name: fmt.Sprint("s", i)}
		if err := store.Systems.Upsert(tx, sys.ID, sys); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.Systems.Count(s.Snapshot()); n != 0 {
		t.Fatalf("a reader sees %d uncommitted systems", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := store.Systems.Count(s.Snapshot()); n != 3 {
		t.Fatalf("after commit: want 3 systems, got %d", n)
	}
}

func testRollbackTo(t *testing.T, s *store.Store) {
	tx := s.Begin(context.Background())
	defer tx.Abort()
	kept := &model.System{ID: ID(), Name: "kept"}
	changed := &model.System{ID: ID(), Name: "before"}
	for _, sys := range []*model.System{kept, changed} {
		if err := store.Systems.Upsert(tx, sys.ID, sys); err != nil {
			t.Fatal(err)
		}
	}
	sp := tx.Savepoint()
	gone := &model.System{ID: ID(), Name: "gone"}
	after := &model.System{ID: changed.ID, Name: "after"}
	for _, err := range []error{store.Systems.Upsert(tx, gone.ID, gone), store.Systems.Upsert(tx, after.ID, after),
		store.Systems.Remove(tx, kept.ID)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tx.RollbackTo(sp)
	if store.Systems.Has(tx, gone.ID) || !store.Systems.Has(tx, kept.ID) {
		t.Fatal("rollback did not undo an insert and a removal")
	}
	if got, _ := store.Systems.Get(tx, changed.ID); got.Name != "before" {
		t.Fatalf("rollback left the update: name %q", got.Name)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := store.Systems.Count(s.Snapshot()); n != 2 {
		t.Fatalf("after commit: want the 2 systems written before the savepoint, got %d", n)
	}
}

// Dump returns every table's rows as JSON, by table name (only the durable
// tables when durableOnly), for comparing two stores: memory against what
// the database loads back, or state before against state after.
func Dump(t testing.TB, r store.Reader, durableOnly bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tbl := range store.Tables {
		if durableOnly && tbl.IsDerived() {
			continue
		}
		b, err := json.Marshal(store.Rows(r, tbl))
		if err != nil {
			t.Fatalf("encode %s: %v", tbl.TableName(), err)
		}
		out[tbl.TableName()] = string(b)
	}
	return out
}
