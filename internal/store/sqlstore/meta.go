package sqlstore

import (
	"context"
	"errors"
	"fmt"
)

// The meta table holds facts about the database as a whole, one row a key.
const (
	metaTable    = "gatehouse_meta"
	metaKey      = "key"
	metaValue    = "value"
	keyKeyFinger = "encryption_key_fingerprint"
	keyProbe     = "write_probe"
)

// errProbed ends the write probe's transaction with a rollback.
var errProbed = errors.New("write probe rolled back")

// CheckWritable writes a row in a transaction and rolls it back, within the
// DB's timeout. It returns nil when the database takes writes, and the
// translated error otherwise: a read-only SQLite file or PostgreSQL server
// (default_transaction_read_only, a standby) fails here before any event
// does. It leaves nothing behind and is cheap enough to run every few
// seconds.
func (db *DB) CheckWritable(ctx context.Context) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	err := db.be.inTx(ctx, func(exec execFunc) error {
		if _, err := exec(ctx, db.upsertMetaSQL(true), []any{keyProbe, "probe"}); err != nil {
			return err
		}
		return errProbed
	})
	if errors.Is(err, errProbed) {
		return nil
	}
	return fmt.Errorf("write probe: %w", db.fail(ctx, err))
}

// KeyFingerprint returns the fingerprint of the encryption key recorded in
// the database, "" when none is.
func (db *DB) KeyFingerprint(ctx context.Context) (string, error) {
	return db.meta(ctx, keyKeyFinger)
}

// ClaimKeyFingerprint records fp as the fingerprint of the database's
// encryption key unless one is recorded already, and returns the one
// recorded afterwards: fp, or the other key's.
func (db *DB) ClaimKeyFingerprint(ctx context.Context, fp string) (string, error) {
	if err := db.setMeta(ctx, keyKeyFinger, fp, false); err != nil {
		return "", err
	}
	return db.meta(ctx, keyKeyFinger)
}

// SetKeyFingerprint records fp as the fingerprint of the database's
// encryption key, replacing any other (after every value was sealed again).
func (db *DB) SetKeyFingerprint(ctx context.Context, fp string) error {
	return db.setMeta(ctx, keyKeyFinger, fp, true)
}

func (db *DB) meta(ctx context.Context, key string) (string, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	q := "SELECT " + quote(metaValue) + " FROM " + quote(metaTable) + " WHERE " + quote(metaKey) + " = " + db.be.placeholder(1)
	vals, err := db.be.queryStrings(ctx, q, key)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, db.fail(ctx, err))
	}
	if len(vals) == 0 {
		return "", nil
	}
	return vals[0], nil
}

// setMeta writes key = value; an existing row is kept unless replace.
func (db *DB) setMeta(ctx context.Context, key, value string, replace bool) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	err := db.be.inTx(ctx, func(exec execFunc) error {
		_, err := exec(ctx, db.upsertMetaSQL(replace), []any{key, value})
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", key, db.fail(ctx, err))
	}
	return nil
}

func (db *DB) upsertMetaSQL(replace bool) string {
	q := "INSERT INTO " + quote(metaTable) + " (" + quote(metaKey) + ", " + quote(metaValue) + ") VALUES (" +
		db.be.placeholder(1) + ", " + db.be.placeholder(2) + ") ON CONFLICT (" + quote(metaKey) + ") "
	if replace {
		return q + "DO UPDATE SET " + quote(metaValue) + " = excluded." + quote(metaValue)
	}
	return q + "DO NOTHING"
}
