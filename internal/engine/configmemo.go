package engine

import (
	"reflect"
	"sync"
	"unsafe"
)

// configMemo shares merged job agent configs within one planning round.
// Every target of a deployment merges the same agent, deployment, entry
// and version configs, so a fan-out merged (and kept) the same map once
// per job. Maps in the store are immutable values, replaced and never
// changed, so within a round a map's identity stands for its content, and
// the jobs can share the one merge: nothing writes into a job's config.
type configMemo struct {
	mu     sync.Mutex
	merged map[[4]unsafe.Pointer]map[string]any
}

func newConfigMemo() *configMemo {
	return &configMemo{merged: map[[4]unsafe.Pointer]map[string]any{}}
}

// merge is mergeConfig of the four layers (nil ones add nothing), shared
// when the same layers were merged before. A nil memo merges every time.
func (c *configMemo) merge(agent, deployment, entry, version map[string]any) map[string]any {
	if c == nil {
		return mergeConfig(agent, deployment, entry, version)
	}
	key := [4]unsafe.Pointer{mapIdentity(agent), mapIdentity(deployment), mapIdentity(entry), mapIdentity(version)}
	c.mu.Lock()
	out, ok := c.merged[key]
	c.mu.Unlock()
	if ok {
		return out
	}
	out = mergeConfig(agent, deployment, entry, version)
	c.mu.Lock()
	c.merged[key] = out
	c.mu.Unlock()
	return out
}

// mapIdentity is the address of m's contents, nil for a nil map.
func mapIdentity(m map[string]any) unsafe.Pointer {
	return reflect.ValueOf(m).UnsafePointer()
}
