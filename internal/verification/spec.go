package verification

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// specReader reads loosely typed provider maps (decoded JSON, so numbers
// arrive as float64) and records errors under their full field path, so
// users see which field of which metric is wrong.
type specReader struct {
	m      map[string]any
	prefix string
	errs   []*model.Error
	// deferTemplates leaves the values of strings holding a template
	// unchecked: when a policy is written they are not rendered yet, and
	// are judged once rendered, when measured.
	deferTemplates bool
}

// deferred reports whether s is a template whose value is checked later.
func (r *specReader) deferred(s string) bool { return r.deferTemplates && isTemplate(s) }

// isTemplate reports whether s holds a template action.
func isTemplate(s string) bool { return strings.Contains(s, "{{") }

func (r *specReader) path(key string) string {
	if r.prefix == "" {
		return key
	}
	return r.prefix + "." + key
}

func (r *specReader) fail(key, format string, args ...any) {
	r.errs = append(r.errs, model.Invalid(r.path(key), format, args...))
}

// invalid returns the field errors as one EINVALID *model.Error listing
// them all ("a: x; b: y"), or nil when there are none.
func invalid(errs []*model.Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Message
	}
	// The answer's field is the first problem's: the caller is pointed at
	// one field to fix even when the message lists several.
	return &model.Error{Code: model.EINVALID, Message: strings.Join(msgs, "; "), Field: errs[0].Field}
}

// sub returns a reader for a nested object, or nil when it is absent.
func (r *specReader) sub(key string) *specReader {
	v, ok := r.m[key]
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.fail(key, "must be an object")
		return nil
	}
	return &specReader{m: m, prefix: r.path(key), deferTemplates: r.deferTemplates}
}

func (r *specReader) str(key string, required bool) string {
	v, ok := r.m[key]
	if !ok || v == nil {
		if required {
			r.fail(key, "is required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.fail(key, "must be a string")
		return ""
	}
	if required && strings.TrimSpace(s) == "" {
		r.fail(key, "is required")
	}
	return s
}

// num returns a number field; present reports whether the key was set.
func (r *specReader) num(key string) (v float64, present bool) {
	raw, ok := r.m[key]
	if !ok || raw == nil {
		return 0, false
	}
	switch n := raw.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		if f, err := n.Float64(); err == nil {
			return f, true
		}
	}
	r.fail(key, "must be a number")
	return 0, true
}

// intIn returns an integer field in [lo, hi], or def when absent.
func (r *specReader) intIn(key string, def, lo, hi int, required bool) int {
	f, ok := r.num(key)
	if !ok {
		if required {
			r.fail(key, "is required")
		}
		return def
	}
	if f != math.Trunc(f) {
		r.fail(key, "must be an integer")
		return def
	}
	if f < float64(lo) || f > float64(hi) {
		r.fail(key, "must be between %d and %d", lo, hi)
		return def
	}
	return int(f)
}

// maxTimeout bounds a provider's timeout: one measurement waiting longer
// only delays the verdict it is meant to give.
const maxTimeout = time.Hour

// timeout reads a timeout given as a duration string ("30s") or, as the
// reference's Prometheus provider does, as whole seconds; it must be
// positive and at most maxTimeout.
func (r *specReader) timeout(key string, def time.Duration) time.Duration {
	raw, ok := r.m[key]
	if !ok || raw == nil {
		return def
	}
	if s, isStr := raw.(string); isStr {
		if r.deferred(s) {
			return def
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > maxTimeout {
			r.fail(key, "must be a positive duration of at most 1h, such as \"30s\"")
			return def
		}
		return d
	}
	f, _ := r.num(key)
	if f <= 0 || f > maxTimeout.Seconds() {
		r.fail(key, "must be more than 0 and at most %d seconds", int(maxTimeout.Seconds()))
		return def
	}
	return time.Duration(f * float64(time.Second))
}

// promDuration parses a Prometheus duration ("5m", "1h30m", "1d", "500ms")
// or a float number of seconds, as Prometheus itself accepts for step, of
// at most model.MaxRuleSpan.
func promDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > model.MaxRuleSpan.Seconds() {
			return 0, fmt.Errorf("duration %q is negative or longer than ten years", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	units := []struct {
		suffix string
		d      time.Duration
	}{
		{"ms", time.Millisecond}, {"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour},
		{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
	}
	rest, total := s, time.Duration(0)
	if rest == "" {
		return 0, fmt.Errorf("empty duration")
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		rest = rest[i:]
		matched := false
		for _, u := range units {
			if strings.HasPrefix(rest, u.suffix) {
				// Each term is capped before adding, so the sum cannot wrap.
				total = min(total+min(model.DurationOf(n, u.d), 2*model.MaxRuleSpan), 2*model.MaxRuleSpan)
				rest = rest[len(u.suffix):]
				matched = true
				break
			}
		}
		if !matched {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
	}
	if total > model.MaxRuleSpan {
		return 0, fmt.Errorf("duration %q is longer than ten years", s)
	}
	return total, nil
}
