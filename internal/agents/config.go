package agents

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Config reads a job's config map with the conversions every agent needs.
// Numbers in configs arrive as float64 or json.Number (JSON), or as strings
// once a template rendered them; the readers accept all three.
type Config map[string]any

// String returns the string at key, or "" when it is absent. A number is
// given in its decimal form.
func (c Config) String(key string) string {
	switch v := c[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// Int returns the integer at key, def when it is absent, and an error
// naming key when it is not a whole number.
func (c Config) Int(key string, def int64) (int64, error) {
	v, ok := c[key]
	if !ok || v == nil || v == "" {
		return def, nil
	}
	switch n := v.(type) {
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), nil
		}
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case string:
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return i, nil
		}
	}
	return 0, model.Invalid(key, "must be a whole number, got %v", v)
}

// Map returns the object at key, or nil.
func (c Config) Map(key string) map[string]any {
	m, _ := c[key].(map[string]any)
	return m
}

// Require returns an EINVALID error naming the first of keys that is
// absent or empty.
func (c Config) Require(keys ...string) error {
	for _, k := range keys {
		if v, ok := c[k]; !ok || v == nil || v == "" {
			return model.Invalid(k, "is required")
		}
	}
	return nil
}

// Strings returns an EINVALID error naming the first of keys present with a
// value that is neither a string nor a number.
func (c Config) Strings(keys ...string) error {
	for _, k := range keys {
		switch c[k].(type) {
		case nil, string, float64, json.Number:
		default:
			return model.Invalid(k, "must be a string, got %s", fmt.Sprintf("%T", c[k]))
		}
	}
	return nil
}
