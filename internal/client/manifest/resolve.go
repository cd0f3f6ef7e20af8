package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Entity is one entity a manifest declares, with every name turned into an
// id: what apply sends.
type Entity struct {
	Kind *Kind
	// Name is the name people see: "api", or "api/v1.2.0" for a version
	// (names are unique within the entity the kind belongs to).
	Name string
	// Key is the entity's identity: its id, or the composite key of kinds
	// without one.
	Key string
	// Data is the payload of the entity's events.
	Data map[string]any
	// Systems are the ids of the systems a deployment or environment is
	// linked to, sorted; nil for other kinds.
	Systems []string
	// Doc is the document it came from.
	Doc *Document
}

// Finder looks entities up in the server's current state.
type Finder interface {
	// Find returns the key of the one entity of kind, within the entity
	// parent (empty: anywhere), whose id or one of whose names is name. It
	// returns ErrNotFound when there is none.
	Find(kind, parent, name string) (string, error)
}

// ErrNotFound is returned by a Finder that finds nothing.
var ErrNotFound = errors.New("not found")

// Resolve turns documents into entities of workspace: ids derived from names
// (unless a document gives one), references resolved first against the
// documents, then against current, defaults filled in and, on kinds with
// metadata, apply's marks set. The entities come in Kinds order, documents
// of one kind in the order given.
func Resolve(workspace string, docs []Document, current Finder) ([]Entity, error) {
	r := &resolver{workspace: workspace, current: current, names: map[string]string{}, keys: map[string]*Document{}}
	for _, d := range docs {
		if KindNamed(d.Kind) == nil {
			return nil, fmt.Errorf("%s: kind %q is not one of %s", d.Where(), d.Kind, KindNames())
		}
	}
	var out []Entity
	for _, k := range Kinds {
		for i := range docs {
			if docs[i].Kind != k.Name {
				continue
			}
			e, err := r.entity(k, &docs[i])
			if err != nil {
				return nil, fmt.Errorf("%s: %s %s: %w", docs[i].Where(), k.Name, docs[i].Name, err)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

type resolver struct {
	workspace string
	current   Finder
	// names maps "kind\x00parent\x00name" (and the same with the key as
	// name) to the key of a document's entity.
	names map[string]string
	// keys maps "kind\x00key" to the document declaring it.
	keys map[string]*Document
	// rules maps a policy id of the documents to its rules' ids.
	rules map[string][]string
}

func nameKey(kind, parent, name string) string { return kind + "\x00" + parent + "\x00" + name }

func (r *resolver) entity(k *Kind, d *Document) (Entity, error) {
	data, err := copyJSON(d.Spec)
	if err != nil {
		return Entity{}, err
	}
	if _, ok := data["id"]; ok {
		return Entity{}, errors.New("spec.id: give an explicit id as metadata.id")
	}
	if len(k.NameFields) > 0 {
		f := k.NameFields[0]
		if v, ok := data[f]; ok && v != d.Name {
			return Entity{}, fmt.Errorf("spec.%s: the %s comes from metadata.name", f, f)
		}
		data[f] = d.Name
	}
	shown, err := r.refs(k, data)
	if err != nil {
		return Entity{}, err
	}
	parent := str(data[k.Parent])
	if k.HasID {
		id := d.ID
		if id == "" {
			id = DeriveID(r.workspace, k.Name, parent, d.Name)
		}
		data["id"] = id
	}
	e := Entity{Kind: k, Name: strings.Join(append(shown, d.Name), "/"), Doc: d}
	if e.Systems, err = r.systems(k, data); err != nil {
		return Entity{}, err
	}
	if k.Defaults != nil {
		k.Defaults(data, d.Name)
	}
	if err := mark(k, data, d.Source, e.Systems); err != nil {
		return Entity{}, err
	}
	e.Key, e.Data = k.Key(data), data
	if prev, ok := r.keys[k.Name+"\x00"+e.Key]; ok {
		return Entity{}, fmt.Errorf("declared twice, here and in %s", prev.Where())
	}
	r.keys[k.Name+"\x00"+e.Key] = d
	for _, n := range append(k.Names(data), e.Key) {
		r.names[nameKey(k.Name, parent, n)] = e.Key
	}
	if k.Name == "policy" {
		r.indexRules(e.Key, data)
	}
	return e, nil
}

// refs replaces the reference fields of data with ids. It returns the
// names, as written, of the entities this one is named within (for
// Entity.Name).
func (r *resolver) refs(k *Kind, data map[string]any) ([]string, error) {
	resolved := map[string]string{}
	var shown []string
	for _, ref := range k.Refs {
		field, list, _ := strings.Cut(ref.Field, "[].")
		if list != "" {
			if err := r.listRefs(ref, field, list, data); err != nil {
				return nil, err
			}
			continue
		}
		raw, ok := data[field]
		if !ok {
			if ref.Required {
				return nil, fmt.Errorf("spec.%s: is required (the %s's name)", field, ref.Kind)
			}
			continue
		}
		if ref.Into != "" && ref.Into != field {
			if _, clash := data[ref.Into]; clash {
				return nil, fmt.Errorf("spec: give %s or %s, not both", field, ref.Into)
			}
		}
		name, err := refName(raw)
		if err != nil {
			return nil, fmt.Errorf("spec.%s: %w", field, err)
		}
		scope := ""
		if ref.Scope != "" {
			if scope = resolved[ref.Scope]; scope == "" {
				return nil, fmt.Errorf("spec.%s: needs spec.%s too", field, ref.Scope)
			}
		}
		id, err := r.lookup(ref.Kind, scope, name)
		if err != nil {
			return nil, fmt.Errorf("spec.%s: %w", field, err)
		}
		resolved[field] = id
		delete(data, field)
		if ref.Into != "" {
			data[ref.Into] = id
		}
		if k.Parent != "" && (ref.Into == k.Parent || ref.Into == "") {
			shown = append(shown, name)
		}
	}
	return shown, nil
}

// listRefs resolves a field of every element of a list ("jobAgents[].ref").
func (r *resolver) listRefs(ref Ref, field, sub string, data map[string]any) error {
	items, ok := data[field].([]any)
	if !ok {
		return nil
	}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		raw, ok := m[sub]
		if !ok {
			continue
		}
		name, err := refName(raw)
		if err != nil {
			return fmt.Errorf("spec.%s[%d].%s: %w", field, i, sub, err)
		}
		id, err := r.lookup(ref.Kind, "", name)
		if err != nil {
			return fmt.Errorf("spec.%s[%d].%s: %w", field, i, sub, err)
		}
		m[sub] = id
	}
	return nil
}

func refName(raw any) (string, error) {
	switch v := raw.(type) {
	case string:
		if v == "" {
			return "", errors.New("is empty")
		}
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", errors.New("must be a name")
}

// lookup resolves a name of kind within parent: the documents first, then
// the server's state.
func (r *resolver) lookup(kind, parent, name string) (string, error) {
	if kind == RuleKind {
		if ids, ok := r.rules[parent]; ok {
			return ruleIn(ids, name)
		}
	}
	if key, ok := r.names[nameKey(kind, parent, name)]; ok {
		return key, nil
	}
	if r.current != nil {
		key, err := r.current.Find(kind, parent, name)
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	return "", fmt.Errorf("no %s named %q in the manifests or on the server", kind, name)
}

func (r *resolver) indexRules(policyID string, data map[string]any) {
	if r.rules == nil {
		r.rules = map[string][]string{}
	}
	rules, _ := data["rules"].([]any)
	ids := make([]string, len(rules))
	for i, rule := range rules {
		m, _ := rule.(map[string]any)
		ids[i] = str(m["id"])
	}
	r.rules[policyID] = ids
}

// ruleIn picks a rule by position or id from a policy's rule ids.
func ruleIn(ids []string, name string) (string, error) {
	if i, err := strconv.Atoi(name); err == nil {
		if i < 0 || i >= len(ids) {
			return "", fmt.Errorf("the policy has no rule %d (it has %d)", i, len(ids))
		}
		return ids[i], nil
	}
	if slices.Contains(ids, name) {
		return name, nil
	}
	return "", fmt.Errorf("the policy has no rule %q", name)
}

// RuleIn is ruleIn for Finders: it picks a rule by position or id.
func RuleIn(ids []string, name string) (string, error) { return ruleIn(ids, name) }

// systems takes the systems a deployment or an environment is linked to out
// of data and returns their ids.
func (r *resolver) systems(k *Kind, data map[string]any) ([]string, error) {
	raw, ok := data["systems"]
	delete(data, "systems")
	if k.Link == "" {
		if ok {
			return nil, errors.New("spec.systems: only deployments and environments are linked to systems")
		}
		return nil, nil
	}
	list, isList := raw.([]any)
	if ok && raw != nil && !isList {
		return nil, errors.New("spec.systems: must be a list of system names")
	}
	ids := []string{}
	for i, s := range list {
		name, err := refName(s)
		if err != nil {
			return nil, fmt.Errorf("spec.systems[%d]: %w", i, err)
		}
		id, err := r.lookup("system", "", name)
		if err != nil {
			return nil, fmt.Errorf("spec.systems[%d]: %w", i, err)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// mark sets apply's metadata keys on kinds that have metadata.
func mark(k *Kind, data map[string]any, source string, systems []string) error {
	if !k.Metadata {
		return nil
	}
	meta := map[string]any{}
	switch m := data["metadata"].(type) {
	case nil:
	case map[string]any:
		for key, v := range m {
			if _, ok := v.(string); !ok {
				return fmt.Errorf("spec.metadata.%s: metadata values are strings", key)
			}
			meta[key] = v
		}
	default:
		return errors.New("spec.metadata: must be a mapping of strings")
	}
	for _, key := range []string{ManagedByKey, SourceKey, SystemsKey} {
		if _, ok := meta[key]; ok {
			return fmt.Errorf("spec.metadata.%s: is set by apply", key)
		}
	}
	meta[ManagedByKey] = ManagedByApply
	meta[SourceKey] = source
	if len(systems) > 0 {
		meta[SystemsKey] = strings.Join(systems, ",")
	}
	data["metadata"] = meta
	return nil
}

// copyJSON deep-copies a spec through JSON, so that the entity never shares
// maps with its document and holds only JSON values.
func copyJSON(spec map[string]any) (map[string]any, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}
