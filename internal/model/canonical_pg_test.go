package model_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// TestCanonicalNumber_PostgreSQLKeepsIt sends numbers through PostgreSQL's
// JSONB, which held the store's documents before migration 00015 (rows
// written then keep its text): the canonical form comes back byte for
// byte, while the forms it replaces do not (which is why it exists).
func TestCanonicalNumber_PostgreSQLKeepsIt(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, sqltest.DSN(t, sqlstore.DialectPostgres))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	roundTrip := func(text string) string {
		t.Helper()
		var out string
		if err := conn.QueryRow(ctx, `SELECT $1::jsonb::text`, text).Scan(&out); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		return out
	}
	rewritten := 0
	for _, in := range []string{
		"0", "-0", "7", "-42", "9223372036854775807", "-9223372036854775808",
		"1e2", "1E+2", "-1e2", "100.0", "1.50", "-0.0", "0.1", "1e-7", "2.5e-3", "1e21", "1.7976931348623157e308",
		"5e-324", "3.14159265358979323846", "123456.789e3", "0.000001", "1e-6",
	} {
		canonical := model.CanonicalNumber(in)
		if got := roundTrip(canonical); got != canonical {
			t.Errorf("%s: canonical %s reads back as %s", in, canonical, got)
		}
		if roundTrip(in) != in {
			rewritten++
		}
	}
	if rewritten == 0 {
		t.Error("PostgreSQL rewrote none of the inputs; the test no longer shows why canonical numbers are needed")
	}
}
