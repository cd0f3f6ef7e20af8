package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Workspace leases (PostgreSQL only): which process owns each workspace.
// Every time is the database's own clock (now()), so that processes on
// machines whose clocks disagree still agree on who holds a lease.

// LeaseHolder is the current state of one workspace's lease.
type LeaseHolder struct {
	WorkspaceID string
	Owner       string
	// Address is where the owner serves the API.
	Address string
	Epoch   int64
	// Live is set while the lease has not run out or been released.
	Live bool
}

// errNoLeases is the answer of the lease methods on SQLite.
var errNoLeases = model.Errorf(model.EINVALID,
	"workspace leases are kept in PostgreSQL only; a SQLite file belongs to one process")

// pgPool returns the PostgreSQL pool, or errNoLeases.
func (db *DB) pgPool() (*postgresBackend, error) {
	pg, ok := db.be.(*postgresBackend)
	if !ok {
		return nil, errNoLeases
	}
	return pg, nil
}

// fence is the first statement of a leased batch: it touches the lease row
// only if owner and epoch still hold it and it has not run out. The row lock
// it takes keeps another process's TakeLeases waiting until this transaction
// ends, so a taker loads the workspace only after the commit it fences out.
func (db *DB) fence(ctx context.Context, exec execFunc, ws string, l store.Lease) error {
	if _, err := db.pgPool(); err != nil {
		return err
	}
	n, err := exec(ctx, `UPDATE "workspace_lease" SET "epoch" = "epoch"
		WHERE "workspace_id" = $1 AND "owner" = $2 AND "epoch" = $3 AND "expires_at" > now()`,
		[]any{ws, l.Owner, l.Epoch})
	if err != nil {
		return err
	}
	if n != 1 {
		return store.ErrFenced
	}
	return nil
}

// TakeLeases makes owner, serving at address, the holder of the leases of
// ids for ttl and returns the epoch of each lease it holds afterwards. A
// lease is taken when it is free: never taken, released, run out, held by
// owner already (then it is extended at the same epoch), or held by another
// owner at this same address (a process that died and whose address this
// one now serves: advertised addresses name one live process). With force it is
// taken from a live holder too (a Kafka partition was assigned: the group
// decides, and the old holder's commits are fenced from now on). Every
// taking from another holder, or after a lapse, raises the epoch. The ids
// held by another live owner are missing from the answer.
func (db *DB) TakeLeases(ctx context.Context, owner, address string, ids []string, ttl time.Duration, force bool) (map[string]int64, error) {
	pg, err := db.pgPool()
	if err != nil {
		return nil, err
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := pg.pool.Query(ctx, `INSERT INTO "workspace_lease" AS l ("workspace_id", "owner", "address", "epoch", "expires_at")
		SELECT id, $2, $3, 1, now() + $4 * interval '1 millisecond' FROM unnest($1::text[]) AS id
		ON CONFLICT ("workspace_id") DO UPDATE SET "owner" = excluded."owner", "address" = excluded."address",
			"epoch" = CASE WHEN l."owner" = excluded."owner" AND l."expires_at" > now() THEN l."epoch" ELSE l."epoch" + 1 END,
			"expires_at" = excluded."expires_at"
		WHERE $5 OR l."owner" = excluded."owner" OR l."expires_at" <= now() OR l."address" = excluded."address"
		RETURNING "workspace_id", "epoch"`, ids, owner, address, ttl.Milliseconds(), force)
	if err != nil {
		return nil, fmt.Errorf("take leases: %w", db.fail(ctx, err))
	}
	out, err := collectEpochs(rows)
	if err != nil {
		return nil, fmt.Errorf("take leases: %w", db.fail(ctx, err))
	}
	return out, nil
}

// RenewLeases extends owner's live leases among ids by ttl and returns the
// epoch of each one renewed; a lease missing from the answer was lost (taken
// by another process, or run out before it was renewed).
func (db *DB) RenewLeases(ctx context.Context, owner string, ids []string, ttl time.Duration) (map[string]int64, error) {
	pg, err := db.pgPool()
	if err != nil {
		return nil, err
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := pg.pool.Query(ctx, `UPDATE "workspace_lease" SET "expires_at" = now() + $3 * interval '1 millisecond'
		WHERE "owner" = $1 AND "workspace_id" = ANY($2) AND "expires_at" > now()
		RETURNING "workspace_id", "epoch"`, owner, ids, ttl.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", db.fail(ctx, err))
	}
	out, err := collectEpochs(rows)
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", db.fail(ctx, err))
	}
	return out, nil
}

// ReleaseLeases gives up owner's leases of ids, so that another process may
// take them at once.
func (db *DB) ReleaseLeases(ctx context.Context, owner string, ids []string) error {
	pg, err := db.pgPool()
	if err != nil {
		return err
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err = pg.pool.Exec(ctx, `UPDATE "workspace_lease" SET "expires_at" = '-infinity'
		WHERE "owner" = $1 AND "workspace_id" = ANY($2)`, owner, ids)
	if err != nil {
		return fmt.Errorf("release leases: %w", db.fail(ctx, err))
	}
	return nil
}

// LeaseOf returns the lease of ws; ENOTFOUND when it was never taken.
func (db *DB) LeaseOf(ctx context.Context, ws string) (LeaseHolder, error) {
	pg, err := db.pgPool()
	if err != nil {
		return LeaseHolder{}, err
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	h := LeaseHolder{WorkspaceID: ws}
	err = pg.pool.QueryRow(ctx, `SELECT "owner", "address", "epoch", "expires_at" > now() FROM "workspace_lease"
		WHERE "workspace_id" = $1`, ws).Scan(&h.Owner, &h.Address, &h.Epoch, &h.Live)
	if err != nil {
		return LeaseHolder{}, fmt.Errorf("lease of %s: %w", ws, db.fail(ctx, err))
	}
	return h, nil
}

// LapsedLeases returns the workspaces whose lease ran out without being
// released: their owner stopped renewing (it crashed, or lost the
// database), and nobody holds them now.
func (db *DB) LapsedLeases(ctx context.Context) ([]string, error) {
	pg, err := db.pgPool()
	if err != nil {
		return nil, err
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	ids, err := pg.queryStrings(ctx, `SELECT "workspace_id" FROM "workspace_lease"
		WHERE "expires_at" <= now() AND "expires_at" > '-infinity' ORDER BY "workspace_id"`)
	if err != nil {
		return nil, fmt.Errorf("lapsed leases: %w", db.fail(ctx, err))
	}
	return ids, nil
}

func collectEpochs(rows pgx.Rows) (map[string]int64, error) {
	out := map[string]int64{}
	defer rows.Close()
	for rows.Next() {
		var id string
		var epoch int64
		if err := rows.Scan(&id, &epoch); err != nil {
			return nil, err
		}
		out[id] = epoch
	}
	return out, rows.Err()
}
