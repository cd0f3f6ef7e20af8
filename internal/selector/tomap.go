package selector

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ToMap converts v (typically a model struct) to the map[string]any form that
// Match expects, via its JSON encoding so field names match the wire format
// selectors are written against.
//
// Two normalisations make the result CEL-friendly: integral numbers become
// int64 and others float64 (CEL compares int and double by value, so
// resource.config.replicas == 3 holds either way, and int arithmetic keeps
// working); and object members that are null are dropped, so a nil map field
// reads as a missing key (no match) rather than a null that CEL cannot index.
// A nil v yields a nil map.
func ToMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("selector: to map: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("selector: to map: %T is not a JSON object", v)
	}
	normalizeObject(m)
	return m, nil
}

func normalizeObject(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = normalize(v)
	}
}

func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		normalizeObject(v)
	case []any:
		for i := range v {
			v[i] = normalize(v[i])
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	}
	return v
}
