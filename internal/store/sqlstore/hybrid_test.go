package sqlstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestStore_Hybrid runs the store suite on memory written through to each
// database, and then checks that what the database holds, loaded into an
// empty store, equals what memory holds.
func TestStore_Hybrid(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			var stores []*store.Store
			storetest.Exercise(t, func(t *testing.T) *store.Store {
				s, err := store.New(storetest.ID(), store.WithPersister(db))
				if err != nil {
					t.Fatal(err)
				}
				stores = append(stores, s)
				return s
			})
			for _, s := range stores {
				loaded, _ := store.New(s.WorkspaceID())
				if _, err := db.LoadWorkspace(context.Background(), s.WorkspaceID(), loaded); err != nil {
					t.Fatal(err)
				}
				got, want := storetest.Dump(t, loaded.Snapshot(), true), storetest.Dump(t, s.Snapshot(), true)
				for name, w := range want {
					if got[name] != w {
						t.Fatalf("%s: the database holds\n%s\nbut memory holds\n%s", name, got[name], w)
					}
				}
			}
		})
	}
}

// TestStore_JobDispatchContextRoundTrip checks that a job, stored naming its
// release instead of repeating it, is loaded back whole and indexed by its
// target.
func TestStore_JobDispatchContextRoundTrip(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			ws := storetest.ID()
			s, _ := store.New(ws, store.WithPersister(db))
			target := model.ReleaseTarget{ResourceID: "r", EnvironmentID: "e", DeploymentID: "d"}
			version := model.DeploymentVersion{ID: "v1", Tag: "1.0.0", DeploymentID: "d", Status: model.VersionReady,
				Config: map[string]any{"image": "api:1.0.0"}}
			rel := &model.Release{ID: storetest.ID(), Version: &version, ReleaseTarget: target,
				Variables: map[string]model.LiteralValue{"region": {V: "eu"}}, EncryptedVariables: []string{}}
			job := &model.Job{ID: storetest.ID(), ReleaseID: rel.ID, Status: model.JobPending, Metadata: map[string]string{},
				DispatchContext: &model.DispatchContext{Release: rel, Version: &version, JobAgentConfig: map[string]any{"a": "b"},
					Variables: rel.Variables}}
			tx := s.Begin(context.Background())
			if err := store.Releases.Upsert(tx, rel.ID, rel); err != nil {
				t.Fatal(err)
			}
			if err := store.Jobs.Upsert(tx, job.ID, job); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			loaded, _ := store.New(ws)
			if _, err := db.LoadWorkspace(context.Background(), ws, loaded); err != nil {
				t.Fatal(err)
			}
			got := store.JobsByTarget.Get(loaded.Snapshot(), target.Key())
			if len(got) != 1 {
				t.Fatalf("jobs by target after load: want 1, got %d", len(got))
			}
			want, _ := json.Marshal(job)
			have, _ := json.Marshal(got[0])
			if string(want) != string(have) {
				t.Fatalf("loaded job differs:\n got  %s\n want %s", have, want)
			}
		})
	}
}
