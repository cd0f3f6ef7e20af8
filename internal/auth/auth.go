// Package auth tells who calls the API from the bearer token: the one admin
// token (--token), whose holder is anonymous, and the named tokens of a
// tokens file (--tokens-file), each with the groups its holder belongs to.
// What a caller may do is not restricted by it; the engine records the
// caller's name and groups where they matter (approvals, versions).
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Entry is one token of a tokens file: its holder's name, the token or the
// hex SHA-256 of it (so the file need not hold the secret), and groups.
type Entry struct {
	Name   string   `json:"name"`
	Token  string   `json:"token,omitempty"`
	SHA256 string   `json:"sha256,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// Tokens resolves bearer tokens to callers. It is immutable and safe for
// concurrent use.
type Tokens struct {
	admin   *[sha256.Size]byte
	entries []entry
}

type entry struct {
	digest [sha256.Size]byte
	caller model.Caller
}

// New returns the tokens of an admin token ("" for none) and named
// entries. It refuses an entry without a name or with a name used twice,
// one with neither or both of token and sha256, a sha256 that is not 64
// hex digits, and a token given twice (the admin's included). Nil with no
// token at all: the API is then open.
func New(adminToken string, entries []Entry) (*Tokens, error) {
	if adminToken == "" && len(entries) == 0 {
		return nil, nil
	}
	t := &Tokens{}
	seen := map[[sha256.Size]byte]string{}
	if adminToken != "" {
		d := sha256.Sum256([]byte(adminToken))
		t.admin = &d
		seen[d] = "--token"
	}
	names := map[string]bool{}
	for i, e := range entries {
		at := "[" + strconv.Itoa(i) + "]"
		name := strings.TrimSpace(e.Name)
		switch {
		case name == "":
			return nil, fmt.Errorf("%s.name: is required", at)
		case name != e.Name:
			return nil, fmt.Errorf("%s.name: %q has leading or trailing spaces", at, e.Name)
		case names[name]:
			return nil, fmt.Errorf("%s.name: %q is used twice", at, name)
		case (e.Token == "") == (e.SHA256 == ""):
			return nil, fmt.Errorf("%s: give exactly one of token and sha256", at)
		}
		names[name] = true
		var d [sha256.Size]byte
		if e.Token != "" {
			d = sha256.Sum256([]byte(e.Token))
		} else {
			b, err := hex.DecodeString(e.SHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("%s.sha256: want the 64 hex digits of the token's SHA-256", at)
			}
			copy(d[:], b)
		}
		if other, dup := seen[d]; dup {
			return nil, fmt.Errorf("%s: %s has the same token as %s", at, name, other)
		}
		seen[d] = name
		groups := []string{}
		for j, g := range e.Groups {
			if strings.TrimSpace(g) == "" {
				return nil, fmt.Errorf("%s.groups[%d]: is empty", at, j)
			}
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
		slices.Sort(groups)
		t.entries = append(t.entries, entry{digest: d, caller: model.Caller{Name: name, Groups: groups}})
	}
	return t, nil
}

// LoadFile reads a tokens file: a YAML or JSON list of entries. Unknown
// fields are refused, so a misspelt "groups" does not silently drop them.
func LoadFile(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	var entries []Entry
	if err := yaml.UnmarshalStrict(b, &entries); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return entries, nil
}

// Authenticate resolves a token: ok is false for a token no one holds;
// caller is nil for the anonymous admin token. The token is compared as a
// SHA-256 digest against every known one in constant time, so that the
// time taken reveals neither which token matched nor any of them.
func (t *Tokens) Authenticate(token string) (caller *model.Caller, ok bool) {
	got := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.entries {
		if subtle.ConstantTimeCompare(got[:], t.entries[i].digest[:]) == 1 {
			found = i
		}
	}
	admin := t.admin != nil && subtle.ConstantTimeCompare(got[:], t.admin[:]) == 1
	switch {
	case found >= 0:
		c := t.entries[found].caller
		c.Groups = slices.Clone(c.Groups)
		return &c, true
	case admin:
		return nil, true
	}
	return nil, false
}

type callerKey struct{}

// WithCaller returns ctx carrying the request's caller.
func WithCaller(ctx context.Context, c *model.Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller WithCaller put in ctx, nil for none.
func CallerFrom(ctx context.Context) *model.Caller {
	c, _ := ctx.Value(callerKey{}).(*model.Caller)
	return c
}
