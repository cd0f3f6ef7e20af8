package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// fakeClock advances one millisecond per reading, so that every transaction
// has its own time and no test depends on the wall clock.
func fakeClock() func() time.Time {
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var ticks atomic.Int64
	return func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
}

func newDurableEngine(db *sqlstore.DB) *engine.Engine {
	return engine.New(engine.Config{Persister: db, Loader: db, Clock: fakeClock(), Logger: slog.New(slog.DiscardHandler)})
}

// pipelineOnThreeResources is a durable engine with the pipeline and
// resources r0, r1 and r2 applied: twelve targets, each with a job.
func pipelineOnThreeResources(t *testing.T, db *sqlstore.DB) *engine.Engine {
	t.Helper()
	eng := newDurableEngine(db)
	mustApply(t, eng, "ws", pipeline(t)...)
	for i := range 3 {
		mustApply(t, eng, "ws", resourceCreated(t, fmt.Sprint("r", i), ""))
	}
	return eng
}

func ev(t testing.TB, eventType, id string, data any) engine.Event {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Event{Type: eventType, ID: id, Data: raw}
}

func mustApply(t testing.TB, eng *engine.Engine, ws string, events ...engine.Event) {
	t.Helper()
	if err := eng.Apply(context.Background(), ws, events); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// pipeline is two environments and two deployments on a custom agent, all
// selecting every resource, each deployment with a version: every resource
// created afterwards gets four release targets, four releases and four jobs.
func pipeline(t testing.TB) []engine.Event {
	cel := map[string]any{"cel": "true"}
	evs := []engine.Event{
		ev(t, "system.created", "", map[string]any{"id": "sys", "name": "sys"}),
		ev(t, "job-agent.created", "", map[string]any{"id": "agent", "name": "agent", "type": "custom"}),
	}
	for _, env := range []string{"staging", "prod"} {
		evs = append(evs,
			ev(t, "environment.created", "", map[string]any{"id": env, "name": env, "resourceSelector": cel, "metadata": map[string]string{}}),
			ev(t, "system-environment.linked", "", map[string]any{"systemId": "sys", "environmentId": env}))
	}
	for _, dep := range []string{"api", "worker"} {
		evs = append(evs,
			ev(t, "deployment.created", "", map[string]any{"id": dep, "name": dep, "slug": dep, "jobAgentId": "agent",
				"jobAgentConfig": map[string]any{}, "resourceSelector": cel}),
			ev(t, "system-deployment.linked", "", map[string]any{"systemId": "sys", "deploymentId": dep}),
			ev(t, "deployment-version.created", "", map[string]any{"id": dep + "-v1", "tag": "v1", "name": "v1",
				"deploymentId": dep, "config": map[string]any{}, "jobAgentConfig": map[string]any{}}))
	}
	return evs
}

func resourceCreated(t testing.TB, id, eventID string) engine.Event {
	return ev(t, "resource.created", eventID, map[string]any{"id": id, "name": id, "identifier": id, "kind": "Cluster",
		"version": "v1", "config": map[string]any{}, "metadata": map[string]string{}})
}

// loadDurable loads ws from db into a fresh store, as a restart would, and
// dumps its durable tables.
func loadDurable(t testing.TB, db *sqlstore.DB, ws string) map[string]string {
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

func durableOf(all map[string]string) map[string]string {
	out := map[string]string{}
	for _, tbl := range store.Tables {
		if !tbl.IsDerived() {
			out[tbl.TableName()] = all[tbl.TableName()]
		}
	}
	return out
}

func assertSameTables(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if g := got[name]; g != w {
			t.Errorf("%s: table %s differs\n got: %.800s\nwant: %.800s", what, name, g, w)
		}
	}
}

func snapshot(t testing.TB, eng *engine.Engine, ws string) store.Snapshot {
	t.Helper()
	w, ok := eng.Workspace(ws)
	if !ok {
		t.Fatalf("workspace %s does not exist", ws)
	}
	return w.Store().Snapshot()
}

// TestEngine_FailedCommitChangesNothing fails, in turn, each statement of
// the SQL transaction of an event with effects in several tables: every
// failure must leave memory and database as they were and answer
// EUNAVAILABLE (retry later), and once the database works again the same
// event, with the same id, applies in full.
func TestEngine_FailedCommitChangesNothing(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			injected := errors.New("injected statement failure")
			var failAt atomic.Int64 // 0: no failure
			db := sqltest.Open(t, dialect, sqlstore.WithStatementHook(func(n int) error {
				if int64(n) == failAt.Load() {
					return injected
				}
				return nil
			}))
			eng := newDurableEngine(db)
			const ws = "ws-fail"
			mustApply(t, eng, ws, pipeline(t)...)
			mustApply(t, eng, ws, resourceCreated(t, "r1", ""))

			// r2 writes the resource, four releases, four jobs and the event
			// id: several statements in one transaction.
			event := resourceCreated(t, "r2", "create-r2")
			memBefore := storetest.Dump(t, snapshot(t, eng, ws), false)
			dbBefore := loadDurable(t, db, ws)
			assertSameTables(t, "database before the failures", dbBefore, durableOf(memBefore))

			var statements int
			for n := int64(1); ; n++ {
				failAt.Store(n)
				err := eng.Apply(context.Background(), ws, []engine.Event{event})
				if err == nil {
					statements = int(n - 1)
					break
				}
				if code := model.ErrorCode(err); code != model.EUNAVAILABLE {
					t.Fatalf("statement %d failed: Apply answered %q (%v), want %q", n, code, err, model.EUNAVAILABLE)
				}
				// Durable tables only: a failure whose outcome is unknown makes
				// the engine load the workspace again, which re-derives the
				// targets' states (their reasons) from the same rows.
				assertSameTables(t, fmt.Sprint("memory after failing statement ", n),
					durableOf(storetest.Dump(t, snapshot(t, eng, ws), false)), durableOf(memBefore))
				assertSameTables(t, fmt.Sprint("database after failing statement ", n), loadDurable(t, db, ws), dbBefore)
				if t.Failed() || n > 100 {
					t.FailNow()
				}
			}
			if statements < 3 {
				t.Fatalf("the event took %d statements; the test needs one spread over several", statements)
			}
			t.Logf("failed each of the event's %d statements in turn", statements)

			// The last round succeeded: the failures recorded nothing of the
			// event, its id included.
			failAt.Store(0)
			snap := snapshot(t, eng, ws)
			targets := store.TargetsByResource.Get(snap, "r2")
			if len(targets) != 4 {
				t.Errorf("after the retry: r2 has %d release targets, want 4", len(targets))
			}
			for _, tg := range targets {
				if n := len(store.JobsByTarget.Get(snap, tg.Key())); n != 1 {
					t.Errorf("after the retry: target %s has %d jobs, want 1", tg.Key(), n)
				}
			}
			if !store.ProcessedEvents.Has(snap, "create-r2") {
				t.Error("after the retry: the event id is not recorded")
			}
			assertSameTables(t, "database after the retry", loadDurable(t, db, ws), durableOf(storetest.Dump(t, snap, false)))
			mustApply(t, eng, ws, resourceCreated(t, "r3", ""))
		})
	}
}

// TestEngine_EventIDIsIdempotent applies an event that is not idempotent by
// nature (a redeploy creates a new job each time) twice with the same id:
// the second time changes nothing, also after a restart from the database.
func TestEngine_EventIDIsIdempotent(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			eng := newDurableEngine(db)
			const ws = "ws-idem"
			mustApply(t, eng, ws, pipeline(t)...)
			mustApply(t, eng, ws, resourceCreated(t, "r1", ""))
			target := map[string]any{"resourceId": "r1", "environmentId": "prod", "deploymentId": "api"}
			key := model.CompositeKey("r1", "prod", "api")

			// completeAll marks the target's pending jobs successful, so that
			// nothing but the event id stops another redeploy.
			completeAll := func(eng *engine.Engine) {
				t.Helper()
				for _, j := range store.JobsByTarget.Get(snapshot(t, eng, ws), key) {
					if j.Status == model.JobPending {
						mustApply(t, eng, ws, ev(t, "job.updated", "", map[string]any{"id": j.ID,
							"job": map[string]any{"status": model.JobSuccessful}, "fieldsToUpdate": []string{"status"}}))
					}
				}
			}
			jobs := func(eng *engine.Engine) int { return len(store.JobsByTarget.Get(snapshot(t, eng, ws), key)) }

			completeAll(eng)
			redeploy := ev(t, "release-target.deploy", "redeploy-1", target)
			mustApply(t, eng, ws, redeploy)
			if got := jobs(eng); got != 2 {
				t.Fatalf("after the first redeploy: %d jobs, want 2", got)
			}
			completeAll(eng)
			before := storetest.Dump(t, snapshot(t, eng, ws), false)

			mustApply(t, eng, ws, redeploy)
			assertSameTables(t, "after the same event again", storetest.Dump(t, snapshot(t, eng, ws), false), before)

			restarted := newDurableEngine(db)
			if err := restarted.Restore(context.Background()); err != nil {
				t.Fatalf("restore: %v", err)
			}
			mustApply(t, restarted, ws, redeploy)
			if got := jobs(restarted); got != 2 {
				t.Errorf("after the same event following a restart: %d jobs, want 2", got)
			}
			assertSameTables(t, "database after the same event following a restart", loadDurable(t, db, ws), durableOf(before))

			// Control: a new id is a new redeploy, so the ones above were
			// skipped for their id and not for another reason.
			mustApply(t, restarted, ws, ev(t, "release-target.deploy", "redeploy-2", target))
			if got := jobs(restarted); got != 3 {
				t.Errorf("after a redeploy with a new id: %d jobs, want 3", got)
			}
		})
	}
}

// After a restore the releases of one version, and their jobs' dispatch
// contexts, share the stored version, deployment, environment and resource
// instead of holding a copy each; a copy of an entity that has changed
// since is kept as it was.
func TestEngine_RestoreSharesVersions(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			eng := pipelineOnThreeResources(t, db)
			// The worker's version and r0 change after their releases were made.
			mustApply(t, eng, "ws", ev(t, "resource.updated", "", map[string]any{"id": "r0", "name": "r0", "identifier": "r0",
				"kind": "Cluster", "version": "v2", "config": map[string]any{}, "metadata": map[string]string{}}))
			mustApply(t, eng, "ws", ev(t, "deployment-version.updated", "", map[string]any{"id": "worker-v1", "tag": "v1",
				"name": "v1", "deploymentId": "worker", "config": map[string]any{}, "jobAgentConfig": map[string]any{},
				"message": "changed"}))
			fresh := newDurableEngine(db)
			if err := fresh.Restore(context.Background()); err != nil {
				t.Fatal(err)
			}
			snap := snapshot(t, fresh, "ws")
			rels := store.Releases.Items(snap)
			if len(rels) != 12 {
				t.Fatalf("want 12 releases, got %d", len(rels))
			}
			for _, rel := range rels {
				stored, err := store.DeploymentVersions.Get(snap, rel.Version.ID)
				if err != nil {
					t.Fatal(err)
				}
				shared := rel.Version == stored
				if want := rel.Version.DeploymentID == "api"; shared != want {
					t.Errorf("release %s of %s shares the stored version: %v, want %v", rel.ID, rel.Version.ID, shared, want)
				}
				if rel.Version.Message != "" {
					t.Errorf("release %s shows the version as changed later (%q)", rel.ID, rel.Version.Message)
				}
				for _, j := range store.JobsByRelease.Get(snap, rel.ID) {
					dc := j.DispatchContext
					if dc.Version != rel.Version {
						t.Errorf("job %s holds a copy of its release's version", j.ID)
					}
					dep, _ := store.Deployments.Get(snap, dc.Deployment.ID)
					env, _ := store.Environments.Get(snap, dc.Environment.ID)
					if dc.Deployment != dep || dc.Environment != env {
						t.Errorf("job %s holds copies of its deployment and environment", j.ID)
					}
					res, _ := store.Resources.Get(snap, dc.Resource.ID)
					if changed := res.ID == "r0"; (dc.Resource == res) == changed {
						t.Errorf("job %s on %s shares the stored resource: %v, want %v", j.ID, res.ID, dc.Resource == res, !changed)
					}
					if dc.Resource.Version != "v1" {
						t.Errorf("job %s shows its resource as changed later (version %s)", j.ID, dc.Resource.Version)
					}
				}
			}
		})
	}
}

// A job's row names its deployment, environment and resource by their
// snapshots, stored once per distinct content: twelve jobs on three
// resources, two environments and two deployments store seven snapshots,
// and a restore gives every job its entities back as they were.
func TestEngine_JobsStoreSnapshots(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			eng := pipelineOnThreeResources(t, db)
			before := loadDurable(t, db, "ws")
			assertSameTables(t, "memory and database", memoryOf(t, eng, "ws"), before)
			if n := store.EntitySnapshots.Count(snapshot(t, eng, "ws")); n != 7 {
				t.Errorf("%d snapshots, want 7 (2 deployments, 2 environments, 3 resources)", n)
			}
			jobs := store.Jobs.Items(snapshot(t, eng, "ws"))
			if len(jobs) != 12 {
				t.Fatalf("%d jobs, want 12", len(jobs))
			}
			for _, j := range jobs {
				doc, err := store.Jobs.Encode(j)
				if err != nil {
					t.Fatal(err)
				}
				if s := string(doc); !strings.Contains(s, `"snapshots"`) || strings.Contains(s, `"identifier"`) || strings.Contains(s, `"slug"`) {
					t.Fatalf("a job row holds copies instead of naming snapshots: %s", s)
				}
			}
			fresh := newDurableEngine(db)
			if err := fresh.Restore(context.Background()); err != nil {
				t.Fatal(err)
			}
			assertSameTables(t, "after a restore", memoryOf(t, fresh, "ws"), before)
			for _, j := range store.Jobs.Items(snapshot(t, fresh, "ws")) {
				dc := j.DispatchContext
				if dc.Resource == nil || dc.Deployment == nil || dc.Environment == nil || dc.Resource.Identifier == "" {
					t.Fatalf("restored job %s lacks its entities: %+v", j.ID, dc)
				}
			}
		})
	}
}
