package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// redacted stands for a credential in what is logged or printed.
const redacted = "xxxxx"

// secretParams are the connection parameters that carry credentials.
var secretParams = []string{"password", "sslpassword"}

// redactDSN returns dsn as it may be logged: every credential replaced.
// A PostgreSQL URL is parsed with net/url (the password of the userinfo
// and the credential query parameters are masked); keyword/value settings
// are parsed by pgx and only their host, port, database and user shown.
// Anything that does not parse is not shown at all.
func redactDSN(dsn string) string {
	switch {
	case dsn == "memory", strings.HasPrefix(dsn, "sqlite:"):
		return dsn
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return "(a PostgreSQL URL that does not parse)"
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
		q := u.Query()
		for _, p := range secretParams {
			if q.Has(p) {
				q.Set(p, redacted)
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	case sqlstore.IsPostgres(dsn):
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return "(PostgreSQL settings that do not parse)"
		}
		return fmt.Sprintf("host=%s port=%d dbname=%s user=%s", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	}
	return "(an unknown kind of database)"
}
