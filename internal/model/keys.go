package model

import "strings"

// CompositeKey joins the parts of a composite identity (a release target's
// resource, environment and deployment; a resource variable's resource and
// key) into one key that no other list of parts shares, whatever the parts
// contain: each part's backslashes and slashes are escaped with a backslash
// and the parts are joined with "/". Ids are usually UUIDs, which need no
// escaping, so the common case is a plain join.
//
// The dashed wire forms ("resourceId-environmentId-deploymentId") are not
// keys: with ids that contain dashes two targets can share one (resource
// "eu" in environment "1-prod", resource "eu-1" in "prod").
func CompositeKey(parts ...string) string {
	n := len(parts) - 1
	clean := true
	for _, p := range parts {
		n += len(p)
		if strings.ContainsAny(p, `\/`) {
			clean = false
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('/')
		}
		if clean {
			b.WriteString(p)
			continue
		}
		for j := 0; j < len(p); j++ {
			if c := p[j]; c == '\\' || c == '/' {
				b.WriteByte('\\')
			}
			b.WriteByte(p[j])
		}
	}
	return b.String()
}

// SplitCompositeKey is CompositeKey's inverse. It reports false for text
// that no CompositeKey call returns.
func SplitCompositeKey(key string) ([]string, bool) {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '\\':
			if i+1 >= len(key) || (key[i+1] != '\\' && key[i+1] != '/') {
				return nil, false
			}
			i++
			cur.WriteByte(key[i])
		case '/':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String()), true
}
