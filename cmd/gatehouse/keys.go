package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/secrets/reseal"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// envEncryptionKey holds the key that seals sensitive values.
const envEncryptionKey = "GATEHOUSE_ENCRYPTION_KEY"

// checkKey compares the encryption key with the one the database records,
// recording it when none is: a server must not seal new values with one key
// over values sealed with another, which it could never open.
func checkKey(ctx context.Context, db *sqlstore.DB, sealer *secrets.Sealer, logger *slog.Logger) error {
	if sealer == nil {
		stored, err := db.KeyFingerprint(ctx)
		if err != nil {
			return err
		}
		if stored != "" {
			logger.Warn(envEncryptionKey+" is not set, but this database's sensitive values were sealed with a key; "+
				"they cannot be written or opened", "keyFingerprint", reseal.Short(stored))
		}
		return nil
	}
	stored, err := db.ClaimKeyFingerprint(ctx, sealer.Fingerprint())
	if err != nil {
		return err
	}
	if stored != sealer.Fingerprint() {
		return fmt.Errorf("%s is not the key that sealed this database's sensitive values (key %s, database %s); "+
			"to change keys, stop every server, keep the old key in another variable (OLD below) and run "+
			"`%s=<new key> OLD=<old key> gatehouse reseal --db ... --old-key-env OLD`, then start with the new key "+
			"(docs/operations.md, Key rotation)",
			envEncryptionKey, reseal.Short(sealer.Fingerprint()), reseal.Short(stored), envEncryptionKey)
	}
	return nil
}

// resealConfig is what gatehouse reseal is told.
type resealConfig struct {
	DB        string
	OldKeyEnv string
	DBTimeout time.Duration
}

// runReseal seals every sensitive value of the database again, with the
// key in GATEHOUSE_ENCRYPTION_KEY instead of the one in the variable
// OldKeyEnv, and prints what it did to out.
func runReseal(ctx context.Context, cfg resealConfig, out io.Writer) error {
	if cfg.DB == "memory" || cfg.DB == "" {
		return errors.New("--db: reseal needs a database (sqlite:PATH or postgres://...)")
	}
	if cfg.OldKeyEnv == "" {
		return errors.New("--old-key-env: name the environment variable holding the old key")
	}
	newKey, err := sealerFromEnv(envEncryptionKey)
	if err != nil {
		return err
	}
	oldKey, err := sealerFromEnv(cfg.OldKeyEnv)
	if err != nil {
		return err
	}
	// A server on the file would write back what it holds sealed with the
	// old key: the file's lock keeps reseal and servers apart.
	lock, err := (&Main{cfg: Config{DB: cfg.DB, Addr: "reseal"}}).lockFor()
	if err != nil {
		return err
	}
	defer lock.Close()
	db, err := sqlstore.Open(ctx, cfg.DB, sqlstore.WithTimeout(cfg.DBTimeout))
	if err != nil {
		return fmt.Errorf("open database %s: %w", redactDSN(cfg.DB), err)
	}
	defer db.Close()
	res, err := reseal.Database(ctx, db, oldKey, newKey)
	if err != nil {
		return fmt.Errorf("reseal: %w (%d values resealed before the failure)", err, res.Resealed)
	}
	fmt.Fprintf(out, "resealed %d values in %d workspaces (%d were sealed with the new key already); the database's key is now %s\n",
		res.Resealed, res.Workspaces, res.Current, reseal.Short(newKey.Fingerprint()))
	return nil
}

// sealerFromEnv returns a sealer for the key held by environment variable
// name, which must be set.
func sealerFromEnv(name string) (*secrets.Sealer, error) {
	key := os.Getenv(name)
	if key == "" {
		return nil, fmt.Errorf("%s is not set", name)
	}
	s, err := secrets.New(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}
