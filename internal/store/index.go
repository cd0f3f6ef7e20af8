package store

import "fmt"

// keyIndexer indexes an entity by its key. Keys are NUL-terminated so that
// "a" is never found as a prefix of "ab" by an exact lookup.
type keyIndexer[T any] struct{ key func(*T) string }

func (k keyIndexer[T]) FromObject(raw any) (bool, []byte, error) {
	v, ok := raw.(*T)
	if !ok {
		return false, nil, fmt.Errorf("unexpected %T", raw)
	}
	s := k.key(v)
	if s == "" {
		return false, nil, fmt.Errorf("empty key")
	}
	return true, terminated(s), nil
}

func (k keyIndexer[T]) FromArgs(args ...any) ([]byte, error) { return argKey(args) }

// multiIndexer indexes an entity under every value its function returns.
type multiIndexer[T any] struct{ values func(*T) []string }

func (m multiIndexer[T]) FromObject(raw any) (bool, [][]byte, error) {
	v, ok := raw.(*T)
	if !ok {
		return false, nil, fmt.Errorf("unexpected %T", raw)
	}
	vals := m.values(v)
	out := make([][]byte, 0, len(vals))
	for _, s := range vals {
		if s != "" {
			out = append(out, terminated(s))
		}
	}
	return len(out) > 0, out, nil
}

func (m multiIndexer[T]) FromArgs(args ...any) ([]byte, error) { return argKey(args) }

func argKey(args []any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("want one argument, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("want a string argument, got %T", args[0])
	}
	return terminated(s), nil
}

func terminated(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// one returns a single-valued index function's result as a slice.
func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
