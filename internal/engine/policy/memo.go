package policy

import "sync"

// Memo keeps what every target of one evaluation round shares, so that a
// rule looking at a whole environment (progression) or a whole deployment
// and environment (rollout order) does that work once per round, not once
// per target. It is safe for concurrent use; a nil *Memo keeps nothing.
type Memo struct {
	mu sync.Mutex
	m  map[string]any
}

// NewMemo returns an empty memo for one evaluation round. A round must not
// outlive the state it read: the engine makes one per unit of work.
func NewMemo() *Memo { return &Memo{m: map[string]any{}} }

// memoized returns the value for key, computing it on first use. Two
// goroutines may compute the same key at once; both get a correct value.
func memoized[T any](m *Memo, key string, compute func() T) T {
	if m == nil {
		return compute()
	}
	m.mu.Lock()
	v, ok := m.m[key]
	m.mu.Unlock()
	if ok {
		return v.(T)
	}
	val := compute()
	m.mu.Lock()
	m.m[key] = val
	m.mu.Unlock()
	return val
}
