package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestMigrate_compositeKeys checks migration 3, which rewrites the stored
// ids of composite identities from the dashed form to model.CompositeKey,
// on rows whose parts hold dashes, slashes and backslashes: down to
// version 2 gives the dashed ids, up again the keys the code computes, and
// the workspace loads back the same.
func TestMigrate_compositeKeys(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := sqltest.Open(t, dialect)
		ws := randID("ws")
		st := newStore(t, ws, db)
		rv := &model.ResourceVariable{ResourceID: "eu-1", Key: `a/b\c`, Value: model.Value{Literal: &model.LiteralValue{V: "x"}}}
		ap := &model.UserApprovalRecord{VersionID: "v-1", UserID: "ann/b", EnvironmentID: "prod", Status: model.ApprovalApproved,
			CreatedAt: fixtureTime}
		dl := &model.SystemDeploymentLink{SystemID: "s-1", DeploymentID: "api"}
		el := &model.SystemEnvironmentLink{SystemID: "s-1", EnvironmentID: "e/2"}
		mustCommit(t, st, func(tx *store.Tx) error {
			return firstError(store.ResourceVariables.Upsert(tx, rv.ID(), rv), store.UserApprovalRecords.Upsert(tx, ap.ID(), ap),
				store.SystemDeployments.Upsert(tx, dl.Key(), dl), store.SystemEnvironments.Upsert(tx, el.Key(), el))
		})
		ids := func() []string {
			t.Helper()
			var out []string
			for _, table := range []string{"resource_variable", "user_approval_record", "system_deployment", "system_environment"} {
				got, err := db.QueryStrings(ctx, `SELECT "id" FROM "`+table+`" WHERE "workspace_id" = `+placeholder(db), ws)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, got...)
			}
			return out
		}
		if got, want := ids(), []string{`eu-1/a\/b\\c`, `v-1/ann\/b/prod`, "s-1/api", `s-1/e\/2`}; !slices.Equal(got, want) {
			t.Fatalf("ids as written: %q, want %q", got, want)
		}
		if err := db.MigrateTo(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if got, want := ids(), []string{`eu-1-a/b\c`, "v-1-ann/b-prod", "s-1-api", "s-1-e/2"}; !slices.Equal(got, want) {
			t.Fatalf("ids at version 2: %q, want %q", got, want)
		}
		if err := db.MigrateTo(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if got, want := ids(), []string{rv.ID(), ap.ID(), dl.Key(), el.Key()}; !slices.Equal(got, want) {
			t.Fatalf("ids after migration 3: %q, want %q", got, want)
		}
		fresh := newStore(t, ws, nil)
		if _, err := db.LoadWorkspace(ctx, ws, fresh); err != nil {
			t.Fatal(err)
		}
		assertSame(t, "after migrating", storetest.Dump(t, fresh.Snapshot(), true), storetest.Dump(t, st.Snapshot(), true))
	})
}

func placeholder(db *sqlstore.DB) string {
	if db.Dialect() == sqlstore.DialectSQLite {
		return "?"
	}
	return "$1"
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
