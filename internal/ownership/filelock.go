// Package ownership makes one process the owner of each workspace: a lock
// file for a SQLite database (the whole file belongs to one process), and
// leases in PostgreSQL for several processes sharing one database, renewed
// in the background and checked by every commit.
package ownership

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Holder is what a lock file says about the process holding it.
type Holder struct {
	PID     int       `json:"pid"`
	Address string    `json:"address"`
	Host    string    `json:"host,omitempty"`
	Since   time.Time `json:"since"`
}

func (h Holder) String() string {
	where := h.Address
	if h.Host != "" {
		where = h.Address + " on " + h.Host
	}
	return fmt.Sprintf("pid %d, serving %s, since %s", h.PID, where, h.Since.Format(time.RFC3339))
}

// HeldError is the refusal of LockFile: another process holds the lock.
type HeldError struct {
	// Path is the lock file.
	Path string
	// Holder is what the lock file says, zero when it could not be read.
	Holder Holder
}

func (e *HeldError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("%s is locked by another gatehouse process (its lock file says nothing more yet)", e.Path)
	}
	return fmt.Sprintf("%s is locked by another gatehouse process (%s)", e.Path, e.Holder)
}

// FileLock is the exclusive hold of one process on a database file, by an
// advisory lock (flock) on a lock file beside it. The kernel drops it when
// the process ends, however it ends, so a crash leaves no stale lock; the
// file's content (who holds it) may stay behind and is rewritten by the next
// holder.
type FileLock struct {
	f    *os.File
	path string
}

// LockPath is the lock file of the database file dbPath.
func LockPath(dbPath string) string { return dbPath + ".lock" }

// LockFile takes the lock of the database file dbPath and records h in it.
// When another process holds it, it fails at once with a *HeldError naming
// that process.
func LockFile(dbPath string, h Holder) (*FileLock, error) {
	path := LockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := lockExclusive(f); err != nil {
		held := &HeldError{Path: path}
		if raw, rerr := os.ReadFile(path); rerr == nil {
			_ = json.Unmarshal(raw, &held.Holder)
		}
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return nil, held
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	l := &FileLock{f: f, path: path}
	if err := l.Record(h); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// Record writes h into the lock file, replacing what it said (the address
// once the server listens).
func (l *FileLock) Record(h Holder) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if _, err := l.f.WriteAt(append(raw, '\n'), 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// Close releases the lock.
func (l *FileLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}
