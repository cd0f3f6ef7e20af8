package relations

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Property matcher operators, as spelled on the wire.
const (
	opEquals     = "equals"
	opNotEquals  = "notEquals"
	opContains   = "contains"
	opStartsWith = "startsWith"
	opEndsWith   = "endsWith"
	opRegex      = "regex"
)

// compare holds the string test for each operator, reading "from OP to".
// Regex is handled apart because it needs the rule's pattern cache.
var compare = map[string]func(from, to string) bool{
	opEquals:     func(a, b string) bool { return a == b },
	opNotEquals:  func(a, b string) bool { return a != b },
	opContains:   strings.Contains,
	opStartsWith: strings.HasPrefix,
	opEndsWith:   strings.HasSuffix,
}

// propertyMatcher is one compiled model.PropertyMatcher.
type propertyMatcher struct {
	fromPath, toPath []string
	test             func(from, to string) bool
}

// fieldErr locates a problem inside one property matcher; Compile prefixes
// the matcher's own path.
type fieldErr struct{ field, msg string }

func compileProperty(p model.PropertyMatcher, cache *regexCache) (propertyMatcher, *fieldErr) {
	if len(p.FromProperty) == 0 {
		return propertyMatcher{}, &fieldErr{".fromProperty", "is required"}
	}
	if len(p.ToProperty) == 0 {
		return propertyMatcher{}, &fieldErr{".toProperty", "is required"}
	}
	pm := propertyMatcher{fromPath: p.FromProperty, toPath: p.ToProperty}
	if p.Operator == opRegex {
		pm.test = cache.match
	} else if pm.test = compare[p.Operator]; pm.test == nil {
		return propertyMatcher{}, &fieldErr{".operator", strconv.Quote(p.Operator) +
			" is not one of equals, notEquals, contains, startsWith, endsWith, regex"}
	}
	return pm, nil
}

// match reports whether the property comparison holds. A missing or
// non-scalar value on either side is no match, whatever the operator.
func (p propertyMatcher) match(from, to map[string]any) bool {
	a, ok := lookupString(from, p.fromPath)
	if !ok {
		return false
	}
	b, ok := lookupString(to, p.toPath)
	if !ok {
		return false
	}
	return p.test(a, b)
}

func lookupString(entity map[string]any, path []string) (string, bool) {
	v, ok := Lookup(entity, path)
	if !ok {
		return "", false
	}
	return scalarString(v)
}

// scalarString formats a scalar plainly: strings as they are, booleans as
// true/false, numbers in their shortest decimal form without exponent (3,
// 2.5, 1000000). Objects, arrays and anything else have no plain string form,
// and formatting Go maps would compare implementation details, so they report
// false.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return v.String(), true
	case int:
		return strconv.Itoa(v), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint:
		return strconv.FormatUint(uint64(v), 10), true
	case uint32:
		return strconv.FormatUint(uint64(v), 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float32:
		return formatFloat(float64(v), 32)
	case float64:
		return formatFloat(v, 64)
	}
	return "", false
}

func formatFloat(f float64, bits int) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, bits), true
}

// Lookup follows path into entity and returns the value there. Each element
// names a key of a map (map[string]any or map[string]string) or, on an array,
// a decimal index: ["config", "network", "id"], ["metadata", "vpc"],
// ["identifier"], ["config", "hosts", "0"]. An empty path returns entity
// itself.
//
// It reports false when any step is missing, steps into something that is
// not a map or an array, or ends at nil: a JSON null counts as absent, as it
// does for selectors. The returned value is shared with entity; callers must
// copy it before changing it.
func Lookup(entity map[string]any, path []string) (any, bool) {
	if entity == nil {
		return nil, false
	}
	var cur any = entity
	for _, key := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[key]
			if !ok {
				return nil, false
			}
			cur = v
		case map[string]string:
			v, ok := c[key]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	if cur == nil {
		return nil, false
	}
	return cur, true
}

// maxCachedPatterns bounds a rule's regex cache. Patterns are entity data, so
// their number is not under the rule author's control; past the bound the
// least recently used pattern is dropped rather than letting memory grow.
const maxCachedPatterns = 256

// regexCache compiles each regex pattern once per rule, keeping the most
// recently used ones. A pattern that does not compile is remembered as nil
// and never matches. Safe for concurrent use.
type regexCache struct {
	c *lru.Cache[string, *regexp.Regexp]
}

func newRegexCache() *regexCache {
	c, err := lru.New[string, *regexp.Regexp](maxCachedPatterns)
	if err != nil {
		panic("relations: " + err.Error()) // only for a size that is not positive
	}
	return &regexCache{c: c}
}

// match reports whether s matches pattern (RE2, unanchored).
func (c *regexCache) match(s, pattern string) bool {
	re := c.get(pattern)
	return re != nil && re.MatchString(s)
}

func (c *regexCache) get(pattern string) *regexp.Regexp {
	if re, ok := c.c.Get(pattern); ok {
		return re
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		re = nil // remembered, so a bad pattern is not recompiled on every use
	}
	c.c.Add(pattern, re)
	return re
}
