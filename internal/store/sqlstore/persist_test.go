package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// commit runs fn in a write transaction of st and commits it.
func commit(t testing.TB, st *store.Store, fn func(tx *store.Tx) error) error {
	t.Helper()
	tx := st.Begin(context.Background())
	defer tx.Abort()
	if err := fn(tx); err != nil {
		t.Fatalf("write: %v", err)
	}
	return tx.Commit()
}

func mustCommit(t testing.TB, st *store.Store, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := commit(t, st, fn); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func TestDB_Persist(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		db := sqltest.Open(t, dialect)

		t.Run("round trip of every table", func(t *testing.T) {
			ws := randID("ws")
			st := newStore(t, ws, db)
			f := newFixture(ws)
			mustCommit(t, st, func(tx *store.Tx) error { f.upsert(t, tx); return nil })

			fresh := newStore(t, ws, nil)
			counts, err := db.LoadWorkspace(context.Background(), ws, fresh)
			if err != nil {
				t.Fatal(err)
			}
			for _, tbl := range store.Tables {
				if !tbl.IsDerived() && counts[tbl.TableName()] != 1 {
					t.Errorf("loaded %d rows of %s, want 1 (the fixture must cover every durable table)",
						counts[tbl.TableName()], tbl.TableName())
				}
			}
			assertSame(t, "after load", storetest.Dump(t, fresh.Snapshot(), true), storetest.Dump(t, st.Snapshot(), true))
		})

		t.Run("updates and deletes", func(t *testing.T) {
			ws := randID("ws")
			st := newStore(t, ws, db)
			f := newFixture(ws)
			extra := newResource(ws)
			mustCommit(t, st, func(tx *store.Tx) error {
				f.upsert(t, tx)
				return store.Resources.Upsert(tx, extra.ID, extra)
			})
			mustCommit(t, st, func(tx *store.Tx) error {
				r := *f.resource
				r.Name, r.Identifier = "renamed", "id/renamed-"+r.ID
				j := *f.job
				j.Status, j.Message = model.JobSuccessful, "done"
				return errors.Join(
					store.Resources.Upsert(tx, r.ID, &r),
					store.Jobs.Upsert(tx, j.ID, &j),
					store.Resources.Remove(tx, extra.ID),
					store.PolicySkips.Remove(tx, f.skip.ID),
					store.SystemDeployments.Remove(tx, f.sysDep.Key()),
				)
			})
			assertSame(t, "after load", loaded(t, db, ws), storetest.Dump(t, st.Snapshot(), true))
		})

		t.Run("identifier freed and reused in one batch", func(t *testing.T) {
			ws := randID("ws")
			st := newStore(t, ws, db)
			a, b, c := newResource(ws), newResource(ws), newResource(ws)
			mustCommit(t, st, func(tx *store.Tx) error {
				return errors.Join(store.Resources.Upsert(tx, a.ID, a), store.Resources.Upsert(tx, b.ID, b))
			})
			// c2 takes a's identifier before a is removed (deletes are
			// written first), and c3 takes b's old identifier after b gave
			// it up (upserts keep their order).
			mustCommit(t, st, func(tx *store.Tx) error {
				c2 := *c
				c2.Identifier = a.Identifier
				b2 := *b
				b2.Identifier = "id/moved-" + b.ID
				c3 := *newResource(ws)
				c3.Identifier = b.Identifier
				return errors.Join(
					store.Resources.Upsert(tx, c2.ID, &c2),
					store.Resources.Remove(tx, a.ID),
					store.Resources.Upsert(tx, b2.ID, &b2),
					store.Resources.Upsert(tx, c3.ID, &c3),
				)
			})
			assertSame(t, "after load", loaded(t, db, ws), storetest.Dump(t, st.Snapshot(), true))
		})

		t.Run("batch spanning several statements", func(t *testing.T) {
			ws := randID("ws")
			st := newStore(t, ws, db)
			var ids []string
			mustCommit(t, st, func(tx *store.Tx) error {
				for range 1234 {
					r := newResource(ws)
					ids = append(ids, r.ID)
					if err := store.Resources.Upsert(tx, r.ID, r); err != nil {
						return err
					}
				}
				return nil
			})
			mustCommit(t, st, func(tx *store.Tx) error {
				for _, id := range ids[:1001] {
					if err := store.Resources.Remove(tx, id); err != nil {
						return err
					}
				}
				return nil
			})
			got := loaded(t, db, ws)
			assertSame(t, "after load", got, storetest.Dump(t, st.Snapshot(), true))
			if n := store.Resources.Count(st.Snapshot()); n != 233 {
				t.Errorf("%d resources, want 233", n)
			}
		})

		t.Run("unique violation is a conflict", func(t *testing.T) {
			ws := randID("ws")
			st := newStore(t, ws, db)
			f := newFixture(ws)
			mustCommit(t, st, func(tx *store.Tx) error { f.upsert(t, tx); return nil })
			before := storetest.Dump(t, st.Snapshot(), true)

			dupResource := newResource(ws)
			dupResource.Identifier = f.resource.Identifier
			dupVersion := newVersion(f.deployment.ID)
			dupVersion.Tag = f.version.Tag
			for name, write := range map[string]func(tx *store.Tx) error{
				"resource identifier": func(tx *store.Tx) error {
					return store.Resources.Upsert(tx, dupResource.ID, dupResource)
				},
				"deployment_version tag": func(tx *store.Tx) error {
					return store.DeploymentVersions.Upsert(tx, dupVersion.ID, dupVersion)
				},
			} {
				err := commit(t, st, func(tx *store.Tx) error {
					// A valid change first, so that the failure rolls it back.
					r := newResource(ws)
					if err := store.Resources.Upsert(tx, r.ID, r); err != nil {
						return err
					}
					return write(tx)
				})
				if code := model.ErrorCode(err); code != model.ECONFLICT {
					t.Errorf("%s: code %q, want conflict (err %v)", name, code, err)
				}
				t.Logf("%s: %v", name, err)
				table, _, _ := strings.Cut(name, " ")
				if err != nil && !strings.Contains(err.Error(), table) {
					t.Errorf("%s: error %q does not name the table", name, err)
				}
				assertSame(t, name+": memory", storetest.Dump(t, st.Snapshot(), true), before)
				assertSame(t, name+": database", loaded(t, db, ws), before)
			}
		})
	})
}

// TestDB_Persist_faultInjection fails each statement of a multi-statement
// batch in turn: every failure must leave database and memory exactly as
// before the batch, and the next commit must succeed.
func TestDB_Persist_faultInjection(t *testing.T) {
	injected := errors.New("injected failure")
	forEachDialect(t, func(t *testing.T, dialect string) {
		var failAt, calls atomic.Int64
		db := sqltest.Open(t, dialect, sqlstore.WithStatementHook(func(n int) error {
			calls.Add(1)
			if int64(n) == failAt.Load() {
				return injected
			}
			return nil
		}))
		ws := randID("ws")
		st := newStore(t, ws, db)
		f := newFixture(ws)
		var old []*model.Resource
		mustCommit(t, st, func(tx *store.Tx) error {
			f.upsert(t, tx)
			for range 3 {
				r := newResource(ws)
				old = append(old, r)
				if err := store.Resources.Upsert(tx, r.ID, r); err != nil {
					return err
				}
			}
			return nil
		})
		before := storetest.Dump(t, st.Snapshot(), true)

		// The batch: deletes and upserts in several tables, and more
		// resources than one statement carries on either dialect.
		fresh := make([]*model.Resource, 1100)
		for i := range fresh {
			fresh[i] = newResource(ws)
		}
		batch := func(tx *store.Tx) error {
			j := *f.job
			j.Status = model.JobInProgress
			errs := []error{
				store.Resources.Remove(tx, old[0].ID),
				store.Jobs.Upsert(tx, j.ID, &j),
				store.PolicySkips.Remove(tx, f.skip.ID),
			}
			for _, r := range fresh {
				errs = append(errs, store.Resources.Upsert(tx, r.ID, r))
			}
			return errors.Join(errs...)
		}

		for n := 1; ; n++ {
			failAt.Store(int64(n))
			calls.Store(0)
			err := commit(t, st, batch)
			if err == nil {
				// The hook was never asked for statement n: the batch has
				// n-1 statements and the last attempt wrote them all.
				if n-1 < 4 {
					t.Fatalf("batch had %d statements, want several", n-1)
				}
				t.Logf("%s: batch of %d statements, each failed once", dialect, n-1)
				break
			}
			if !errors.Is(err, injected) {
				t.Fatalf("statement %d: err %v, want the injected one", n, err)
			}
			if calls.Load() != int64(n) {
				t.Errorf("statement %d: hook called %d times", n, calls.Load())
			}
			assertSame(t, "memory after failed commit", storetest.Dump(t, st.Snapshot(), true), before)
			assertSame(t, "database after failed commit", loaded(t, db, ws), before)
			if t.Failed() {
				t.FailNow()
			}
		}
		after := storetest.Dump(t, st.Snapshot(), true)
		if after["resource"] == before["resource"] {
			t.Fatal("successful commit changed nothing in memory")
		}
		assertSame(t, "database after successful commit", loaded(t, db, ws), after)
	})
}

func TestDB_Persist_unavailable(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		t.Run("canceled context", func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			ws := randID("ws")
			st := newStore(t, ws, db)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			tx := st.Begin(ctx)
			defer tx.Abort()
			r := newResource(ws)
			if err := store.Resources.Upsert(tx, r.ID, r); err != nil {
				t.Fatal(err)
			}
			err := tx.Commit()
			if code := model.ErrorCode(err); code != model.EUNAVAILABLE || !errors.Is(err, context.Canceled) {
				t.Errorf("code %q (err %v), want unavailable wrapping context.Canceled", code, err)
			}
			if store.Resources.Count(st.Snapshot()) != 0 {
				t.Error("memory changed by a failed commit")
			}
		})
		t.Run("closed database", func(t *testing.T) {
			db := sqltest.Open(t, dialect)
			db.Close()
			ws := randID("ws")
			err := commit(t, newStore(t, ws, db), func(tx *store.Tx) error {
				r := newResource(ws)
				return store.Resources.Upsert(tx, r.ID, r)
			})
			if code := model.ErrorCode(err); code != model.EUNAVAILABLE {
				t.Errorf("code %q (err %v), want unavailable", code, err)
			}
			if _, err := db.Workspaces(context.Background()); model.ErrorCode(err) != model.EUNAVAILABLE {
				t.Errorf("Workspaces on a closed database: %v, want unavailable", err)
			}
		})
	})
}

func TestDB_Workspaces(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		db := sqltest.Open(t, dialect)
		got, err := db.Workspaces(context.Background())
		if err != nil || len(got) != 0 {
			t.Fatalf("empty database: %v, %v", got, err)
		}
		want := []string{randID("ws"), randID("ws"), randID("ws")}
		for _, ws := range want {
			f := newFixture(ws)
			mustCommit(t, newStore(t, ws, db), func(tx *store.Tx) error { f.upsert(t, tx); return nil })
		}
		got, err = db.Workspaces(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Workspaces() = %v, want %v", got, want)
		}
		// Each workspace loads only its own rows.
		counts, err := db.LoadWorkspace(context.Background(), want[0], newStore(t, want[0], nil))
		if err != nil {
			t.Fatal(err)
		}
		if counts["resource"] != 1 || counts["workspace"] != 1 {
			t.Errorf("counts %v, want one resource and one workspace", counts)
		}
	})
}
