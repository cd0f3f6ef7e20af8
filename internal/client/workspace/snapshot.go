// Package workspace reads a workspace's entities over the API into a
// Snapshot that answers the questions the CLI asks of them: which entity a
// name means, what an id is called, what an entity belongs to.
package workspace

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
)

// Snapshot is the entities of some manifest kinds as the server sent them.
// It implements manifest.Finder. A Snapshot is not changed after Read and is
// safe for concurrent reads.
type Snapshot struct {
	// items maps a kind name to its entities by key, each decoded into
	// generic JSON values.
	items map[string]map[string]map[string]any
}

// Read lists the kinds named (every manifest kind when none is) of the
// client's workspace. A workspace the server does not hold yet reads as
// empty.
func Read(ctx context.Context, c *client.Client, kinds ...string) (*Snapshot, error) {
	var ks []*manifest.Kind
	for _, name := range kinds {
		k := manifest.KindNamed(name)
		if k == nil {
			return nil, fmt.Errorf("unknown kind %q", name)
		}
		ks = append(ks, k)
	}
	if len(kinds) == 0 {
		ks = manifest.Kinds
	}
	s := &Snapshot{items: map[string]map[string]map[string]any{}}
	lists := make([][]json.RawMessage, len(ks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, k := range ks {
		g.Go(func() error {
			raw, err := c.List(gctx, k.Collection, nil)
			if err != nil {
				return fmt.Errorf("read %s: %w", k.Collection, err)
			}
			lists[i] = raw
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if client.IsStatus(err, http.StatusNotFound) {
			if ok, werr := c.WorkspaceExists(ctx); werr == nil && !ok {
				return s, nil
			}
		}
		return nil, err
	}
	for i, k := range ks {
		byKey := map[string]map[string]any{}
		for _, raw := range lists[i] {
			var item map[string]any
			if err := json.Unmarshal(raw, &item); err != nil {
				return nil, fmt.Errorf("read %s: %w", k.Collection, err)
			}
			byKey[k.Key(item)] = item
		}
		s.items[k.Name] = byKey
	}
	return s, nil
}

// Get returns the entity of kind with key as the server holds it, or nil.
// The map is the snapshot's own: callers must not change it.
func (s *Snapshot) Get(kind, key string) map[string]any { return s.items[kind][key] }

// Keys returns the keys of every entity of kind, sorted.
func (s *Snapshot) Keys(kind string) []string {
	keys := make([]string, 0, len(s.items[kind]))
	for k := range s.items[kind] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Find implements manifest.Finder: the key of the one entity of kind, within
// parent when the kind belongs to another, whose key or a name is name.
// Several matches are an error asking for the id.
func (s *Snapshot) Find(kind, parent, name string) (string, error) {
	if kind == manifest.RuleKind {
		return s.findRule(parent, name)
	}
	k := manifest.KindNamed(kind)
	if k == nil {
		return "", fmt.Errorf("unknown kind %q", kind)
	}
	var found []string
	for _, key := range s.Keys(kind) {
		item := s.items[kind][key]
		if parent != "" && k.Parent != "" && str(item[k.Parent]) != parent {
			continue
		}
		if key == name || slices.Contains(k.Names(item), name) {
			found = append(found, key)
		}
	}
	switch len(found) {
	case 0:
		return "", manifest.ErrNotFound
	case 1:
		return found[0], nil
	}
	return "", &AmbiguousError{Kind: kind, Name: name, Keys: found}
}

// AmbiguousError is a name that several entities answer to.
type AmbiguousError struct {
	Kind, Name string
	// Keys are the keys of the entities named so.
	Keys []string
}

// Error lists the candidates.
func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%d entities of kind %s are named %q (%s); name one by id", len(e.Keys), e.Kind, e.Name, strings.Join(e.Keys, ", "))
}

func (s *Snapshot) findRule(policyID, name string) (string, error) {
	p := s.Get("policy", policyID)
	if p == nil {
		return "", manifest.ErrNotFound
	}
	rules, _ := p["rules"].([]any)
	ids := make([]string, len(rules))
	for i, r := range rules {
		m, _ := r.(map[string]any)
		ids[i] = str(m["id"])
	}
	return manifest.RuleIn(ids, name)
}

// Name returns how people call an entity: its name, prefixed by the names
// of the entities it belongs to ("api/v1.2.0"); its key when it has no name
// or is not in the snapshot.
func (s *Snapshot) Name(kind, key string) string {
	k := manifest.KindNamed(kind)
	item := s.Get(kind, key)
	if k == nil || item == nil {
		return key
	}
	name := key
	if names := k.Names(item); len(names) > 0 {
		name = names[0]
	}
	if owner, ownerKey := s.Owner(kind, key); owner != "" {
		return s.Name(owner, ownerKey) + "/" + name
	}
	return name
}

// Owner returns the kind and key of the entity an entity belongs to (a
// version's deployment, a value's variable), or "" when it belongs to none.
func (s *Snapshot) Owner(kind, key string) (string, string) {
	k := manifest.KindNamed(kind)
	item := s.Get(kind, key)
	if k == nil || item == nil || k.Parent == "" {
		return "", ""
	}
	for _, ref := range k.Refs {
		if ref.Into == k.Parent {
			return ref.Kind, str(item[k.Parent])
		}
	}
	return "", ""
}

// Fingerprint returns an entity as read, in canonical JSON ("" when absent).
func (s *Snapshot) Fingerprint(kind, key string) string {
	item := s.Get(kind, key)
	if item == nil {
		return ""
	}
	b, err := json.Marshal(item)
	if err != nil {
		return ""
	}
	return string(b)
}

// IDNames maps every id of the snapshot to "kind/name", for showing ids as
// names.
func (s *Snapshot) IDNames() map[string]string {
	out := map[string]string{}
	for kind, items := range s.items {
		for key := range items {
			out[key] = kind + "/" + s.Name(kind, key)
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
