package apply

import (
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
)

// FieldChange is one field that differs between a manifest and the server.
type FieldChange struct {
	// Path is the field in the entity's JSON: "jobAgentConfig.replicas",
	// "rules[0].anyApproval.minApprovals"; "systems" for links.
	Path string
	// Old is the server's value, New the manifest's; nil when absent.
	Old, New any
}

// differ compares a desired entity with the stored one.
type differ struct {
	// ignore are the path patterns ("rules[].createdAt") the server fills.
	ignore []string
	// resendSecrets treats every sensitive value as changed: their clear
	// text cannot be read back, so they are otherwise taken as unchanged.
	resendSecrets bool
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// ignored reports whether path is one the server fills in.
func (d *differ) ignored(path string) bool {
	return slices.Contains(d.ignore, indexRE.ReplaceAllString(path, "[]"))
}

// diff returns the fields of desired that current does not hold. A field
// absent on one side equals a zero value (null, "", 0, false, {}, []) on
// the other, since the server writes empty values out in full.
func (d *differ) diff(desired, current map[string]any) []FieldChange {
	var out []FieldChange
	d.compare("", desired, current, &out)
	return out
}

func (d *differ) compare(path string, want, have any, out *[]FieldChange) {
	if isZero(want) && isZero(have) {
		return
	}
	if isSensitive(want) && isSensitive(have) {
		if d.resendSecrets {
			*out = append(*out, FieldChange{Path: path, Old: have, New: want})
		}
		return
	}
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			break
		}
		for _, k := range unionKeys(w, h) {
			p := join(path, k)
			wv, inWant := w[k]
			if !inWant && d.ignored(p) {
				continue
			}
			d.compare(p, wv, h[k], out)
		}
		return
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			break
		}
		for i := range w {
			d.compare(path+"["+strconv.Itoa(i)+"]", w[i], h[i], out)
		}
		return
	}
	if !reflect.DeepEqual(want, have) {
		*out = append(*out, FieldChange{Path: path, Old: have, New: want})
	}
}

// preserve copies into payload the fields the server filled in on the
// stored entity that the manifest leaves out, so that an update keeps them
// (a version's createdAt orders the candidates; a rule's createdAt decides
// which versions it gates).
func (d *differ) preserve(payload, current map[string]any) {
	d.keep("", payload, current)
}

func (d *differ) keep(path string, want, have any) {
	switch w := want.(type) {
	case map[string]any:
		h, _ := have.(map[string]any)
		for k, hv := range h {
			p := join(path, k)
			if wv, ok := w[k]; ok {
				d.keep(p, wv, hv)
			} else if d.ignored(p) {
				w[k] = hv
			}
		}
	case []any:
		h, _ := have.([]any)
		for i := range min(len(w), len(h)) {
			d.keep(path+"["+strconv.Itoa(i)+"]", w[i], h[i])
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case bool:
		return !x
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// isSensitive reports whether v is a sensitive variable value, as a
// manifest writes it ({"sensitive": "..."}) or the server shows it
// ({"sensitive": {"valueHash": ...}}).
func isSensitive(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m["sensitive"]
	return ok
}
