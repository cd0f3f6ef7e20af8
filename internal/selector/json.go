package selector

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// node is one compiled JSON condition, evaluated against the subject entity.
type node interface {
	match(subject map[string]any) bool
}

// group is an and/or over child nodes.
type group struct {
	and      bool
	children []node
}

func (g *group) match(s map[string]any) bool {
	for _, c := range g.children {
		if c.match(s) != g.and {
			return !g.and
		}
	}
	return g.and
}

type stringOp int

const (
	opEquals stringOp = iota
	opNotEquals
	opStartsWith
	opEndsWith
	opContains
	opRegex
)

var stringOps = map[string]stringOp{
	"equals":      opEquals,
	"not-equals":  opNotEquals,
	"starts-with": opStartsWith,
	"ends-with":   opEndsWith,
	"contains":    opContains,
	"regex":       opRegex,
}

// stringCond compares a string field, or a metadata entry when metaKey is
// set, with a constant.
type stringCond struct {
	field   string
	metaKey string
	op      stringOp
	value   string
	re      *regexp.Regexp
}

func (c *stringCond) match(s map[string]any) bool {
	var (
		got string
		ok  bool
	)
	if c.metaKey != "" {
		got, ok = metadataValue(s["metadata"], c.metaKey)
	} else {
		got, ok = s[c.field].(string)
	}
	if !ok {
		return false
	}
	switch c.op {
	case opEquals:
		return got == c.value
	case opNotEquals:
		return got != c.value
	case opStartsWith:
		return strings.HasPrefix(got, c.value)
	case opEndsWith:
		return strings.HasSuffix(got, c.value)
	case opContains:
		return strings.Contains(got, c.value)
	case opRegex:
		return c.re.MatchString(got)
	}
	return false
}

// metadataValue accepts both shapes metadata takes in practice: decoded JSON
// (map[string]any) and a typed model field (map[string]string).
func metadataValue(md any, key string) (string, bool) {
	switch md := md.(type) {
	case map[string]any:
		v, ok := md[key].(string)
		return v, ok
	case map[string]string:
		v, ok := md[key]
		return v, ok
	}
	return "", false
}

type dateOp int

const (
	opBefore dateOp = iota
	opAfter
	opBeforeOrOn
	opAfterOrOn
)

var dateOps = map[string]dateOp{
	"before":       opBefore,
	"after":        opAfter,
	"before-or-on": opBeforeOrOn,
	"after-or-on":  opAfterOrOn,
}

// dateCond compares a timestamp field with a constant instant.
type dateCond struct {
	field string
	op    dateOp
	at    time.Time
}

func (c *dateCond) match(s map[string]any) bool {
	var t time.Time
	switch v := s[c.field].(type) {
	case time.Time:
		t = v
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return false
		}
	default:
		return false
	}
	cmp := t.Compare(c.at)
	switch c.op {
	case opBefore:
		return cmp < 0
	case opAfter:
		return cmp > 0
	case opBeforeOrOn:
		return cmp <= 0
	case opAfterOrOn:
		return cmp >= 0
	}
	return false
}

// stringFields maps condition types to the entity's JSON field. tag and
// status only exist on versions; on other entities they are just missing.
var stringFields = map[string]string{
	"name":       "name",
	"kind":       "kind",
	"identifier": "identifier",
	"version":    "version",
	"id":         "id",
	"tag":        "tag",
	"status":     "status",
}

var dateFields = map[string]string{
	"created-at": "createdAt",
	"updated-at": "updatedAt",
}

func compileNode(raw any, path string) (node, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: must be an object, got %s", path, describe(raw))
	}
	if _, ok := m["type"]; ok {
		return compileCondition(m, path)
	}
	// Without "type" this can only be a group; if it does not look like one
	// either, the author most likely forgot "type" on a condition.
	if _, ok := m["conditions"]; !ok {
		if op, _ := m["operator"].(string); op != "and" && op != "or" {
			return nil, fmt.Errorf("%s.type: missing", path)
		}
	}
	return compileGroup(m, path)
}

func compileGroup(m map[string]any, path string) (node, error) {
	if err := onlyFields(m, path, "operator", "conditions"); err != nil {
		return nil, err
	}
	op, err := stringField(m, path, "operator")
	if err != nil {
		return nil, err
	}
	g := &group{}
	switch op {
	case "and":
		g.and = true
	case "or":
	default:
		return nil, fmt.Errorf("%s.operator: unknown operator %q", path, op)
	}
	var items []any
	switch cs := m["conditions"].(type) {
	case []any:
		items = cs
	case []map[string]any:
		for _, c := range cs {
			items = append(items, c)
		}
	case nil:
		if _, present := m["conditions"]; !present {
			return nil, fmt.Errorf("%s.conditions: missing", path)
		}
		return nil, fmt.Errorf("%s.conditions: must be an array, got null", path)
	default:
		return nil, fmt.Errorf("%s.conditions: must be an array, got %s", path, describe(cs))
	}
	for i, c := range items {
		child, err := compileNode(c, fmt.Sprintf("%s.conditions[%d]", path, i))
		if err != nil {
			return nil, err
		}
		g.children = append(g.children, child)
	}
	return g, nil
}

func compileCondition(m map[string]any, path string) (node, error) {
	typ, err := stringField(m, path, "type")
	if err != nil {
		return nil, err
	}
	if typ == "metadata" {
		if err := onlyFields(m, path, "type", "key", "operator", "value"); err != nil {
			return nil, err
		}
		key, err := stringField(m, path, "key")
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, fmt.Errorf("%s.key: must not be empty", path)
		}
		return compileStringCond(m, path, &stringCond{metaKey: key})
	}
	if err := onlyFields(m, path, "type", "operator", "value"); err != nil {
		return nil, err
	}
	if f, ok := stringFields[typ]; ok {
		return compileStringCond(m, path, &stringCond{field: f})
	}
	if f, ok := dateFields[typ]; ok {
		return compileDateCond(m, path, f)
	}
	return nil, fmt.Errorf("%s.type: unknown type %q", path, typ)
}

func compileStringCond(m map[string]any, path string, c *stringCond) (node, error) {
	opName, err := stringField(m, path, "operator")
	if err != nil {
		return nil, err
	}
	op, ok := stringOps[opName]
	if !ok {
		return nil, fmt.Errorf("%s.operator: unknown operator %q", path, opName)
	}
	c.op = op
	if c.value, err = stringField(m, path, "value"); err != nil {
		return nil, err
	}
	if op == opRegex {
		if c.re, err = regexp.Compile(c.value); err != nil {
			return nil, fmt.Errorf("%s.value: bad regex: %v", path, err)
		}
	}
	return c, nil
}

func compileDateCond(m map[string]any, path, field string) (node, error) {
	opName, err := stringField(m, path, "operator")
	if err != nil {
		return nil, err
	}
	op, ok := dateOps[opName]
	if !ok {
		return nil, fmt.Errorf("%s.operator: unknown operator %q", path, opName)
	}
	c := &dateCond{field: field, op: op}
	switch v := m["value"].(type) {
	case time.Time:
		c.at = v
	case string:
		if c.at, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return nil, fmt.Errorf("%s.value: bad date %q: want RFC3339", path, v)
		}
	default:
		if _, present := m["value"]; !present {
			return nil, fmt.Errorf("%s.value: missing", path)
		}
		return nil, fmt.Errorf("%s.value: must be an RFC3339 string, got %s", path, describe(v))
	}
	return c, nil
}

// onlyFields rejects unknown fields so that a typo (or an unsupported
// modifier such as "not") fails loudly instead of silently changing what the
// selector matches.
func onlyFields(m map[string]any, path string, allowed ...string) error {
	for k := range m {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			return fmt.Errorf("%s: unknown field %q", path, k)
		}
	}
	return nil
}

func stringField(m map[string]any, path, name string) (string, error) {
	v, present := m[name]
	if !present {
		return "", fmt.Errorf("%s.%s: missing", path, name)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s.%s: must be a string, got %s", path, name, describe(v))
	}
	return s, nil
}

// describe names a decoded JSON value's kind in wire terms, which is what the
// author of the selector wrote.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64, float32, int, int64, int32, uint, uint64, uint32:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
