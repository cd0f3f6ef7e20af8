package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A job's row names the deployment, environment and resource of its
// dispatch context by their entity snapshots (see store/jobrows.go). The
// engine writes the snapshots a new job needs in the job's unit of work,
// so a row never names a snapshot the database lacks.

// snapshotCacheSize bounds the entity values whose snapshot is remembered:
// a fan-out meets its deployment, its environments and every resource. An
// entry costs little (the snapshot itself is a row the store keeps), and a
// miss costs an encoding and a hash on the serial path.
const snapshotCacheSize = 1 << 17

// snapshotCache maps entity values to their snapshots. Values in the store
// are immutable (an update stores a new value), so a pointer stands for
// one content and its hash is computed once.
type snapshotCache struct {
	entries *lru.Cache[any, *model.EntitySnapshot]
}

func newSnapshotCache() *snapshotCache {
	c, _ := lru.New[any, *model.EntitySnapshot](snapshotCacheSize)
	return &snapshotCache{entries: c}
}

// of returns the snapshot of entity v (a pointer) of kind.
func (c *snapshotCache) of(kind string, v any) (*model.EntitySnapshot, error) {
	if s, ok := c.entries.Get(v); ok {
		return s, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("snapshot of a %s: %w", kind, err)
	}
	sum := sha256.Sum256(append([]byte(kind+"\x00"), data...))
	s := &model.EntitySnapshot{ID: hex.EncodeToString(sum[:16]), Kind: kind, Data: data}
	c.entries.Add(v, s)
	return s, nil
}

// captureSnapshots stores the snapshots of a new job's context (those the
// workspace lacks) and names them in it.
func (u *unit) captureSnapshots(dc *model.DispatchContext) error {
	if dc == nil {
		return nil
	}
	refs := &model.SnapshotRefs{}
	for _, e := range []struct {
		kind string
		v    any
		ok   bool
		ref  *string
	}{
		{store.SnapshotDeployment, dc.Deployment, dc.Deployment != nil, &refs.Deployment},
		{store.SnapshotEnvironment, dc.Environment, dc.Environment != nil, &refs.Environment},
		{store.SnapshotResource, dc.Resource, dc.Resource != nil, &refs.Resource},
	} {
		if !e.ok {
			continue
		}
		s, err := u.engine.snapshots.of(e.kind, e.v)
		if err != nil {
			return err
		}
		if !store.EntitySnapshots.Has(u.tx, s.ID) {
			if err := store.EntitySnapshots.Upsert(u.tx, s.ID, s); err != nil {
				return err
			}
		}
		*e.ref = s.ID
	}
	dc.Snapshots = refs
	return nil
}
