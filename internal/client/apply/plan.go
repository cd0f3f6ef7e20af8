package apply

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
	"github.com/gatehouse-dev/gatehouse/internal/client/workspace"
)

// Action is what a change does to an entity.
type Action string

// The actions of a plan.
const (
	Create Action = "created"
	Update Action = "updated"
	Delete Action = "deleted"
)

// Change is one entity a plan creates, updates or deletes, with the events
// that do it.
type Change struct {
	Action Action
	Kind   *manifest.Kind
	// Name is the entity's name as people see it ("api/v1.2.0").
	Name string
	Key  string
	// Fields are the differing fields of an update.
	Fields []FieldChange
	// Doc is the manifest document behind a create or update (nil for a
	// prune).
	Doc *manifest.Document
	// Events are the change's events, in order.
	Events []client.Event
}

// Plan is the difference between manifests and the server: the changes in
// the order their events are sent.
type Plan struct {
	Changes []Change
	// Names maps the ids the plan's fields may hold to "kind/name", for
	// showing them.
	Names map[string]string
	// Warnings are things the plan does that may not be meant.
	Warnings []string
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Events returns every event of the plan, in order, and for each the index
// of its change.
func (p *Plan) Events() ([]client.Event, []int) {
	var events []client.Event
	var owner []int
	for i, c := range p.Changes {
		for _, ev := range c.Events {
			events = append(events, ev)
			owner = append(owner, i)
		}
	}
	return events, owner
}

// Count returns how many changes have action a.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Options tune a plan.
type Options struct {
	// Prune deletes entities apply made that the manifests no longer hold,
	// among those whose recorded source lies under one of Scope.
	Prune bool
	// Scope are the manifest paths applied (as manifest.SourceName gives
	// them).
	Scope []string
	// ResendSecrets sends every sensitive value again; without it a stored
	// sensitive value is taken as unchanged, since it cannot be read back.
	ResendSecrets bool
}

// planner builds one plan.
type planner struct {
	workspace string
	state     *workspace.Snapshot
	opt       Options
	// salt, when set, goes into every event id: it makes a resend
	// distinct from an earlier batch of the same content.
	salt string
	// warnings collect the plan's Warnings.
	warnings []string
}

// Compute returns the plan that makes the workspace hold desired (from
// manifest.Resolve over st).
func Compute(wsID string, desired []manifest.Entity, st *workspace.Snapshot, opt Options) *Plan {
	return (&planner{workspace: wsID, state: st, opt: opt}).plan(desired)
}

func (p *planner) plan(desired []manifest.Entity) *Plan {
	plan := &Plan{Names: p.names(desired)}
	wanted := map[string]bool{}
	for _, e := range desired {
		wanted[e.Kind.Name+"\x00"+e.Key] = true
		if c, ok := p.upsert(e); ok {
			plan.Changes = append(plan.Changes, c)
		}
	}
	if p.opt.Prune {
		plan.Changes = append(plan.Changes, p.deletes(p.pruned(wanted))...)
	}
	plan.Warnings = p.warnings
	return plan
}

// namesake warns when e is to be created while the server holds an entity
// of the same kind and name under another id: one made through the API,
// which a manifest takes over only by giving its id.
func (p *planner) namesake(e manifest.Entity) string {
	if len(e.Kind.NameFields) == 0 {
		return ""
	}
	key, err := p.state.Find(e.Kind.Name, str(e.Data[e.Kind.Parent]), str(e.Data[e.Kind.NameFields[0]]))
	if err != nil || key == e.Key {
		return ""
	}
	return fmt.Sprintf("%s %s: the server has one of that name with id %s; this creates another (give metadata.id: %s to manage that one)",
		e.Kind.Name, e.Name, key, key)
}

// names maps the ids of the state and of desired to "kind/name".
func (p *planner) names(desired []manifest.Entity) map[string]string {
	names := p.state.IDNames()
	for _, e := range desired {
		names[e.Key] = e.Kind.Name + "/" + e.Name
	}
	return names
}

func (p *planner) differ(k *manifest.Kind) *differ {
	return &differ{ignore: k.Filled(), resendSecrets: p.opt.ResendSecrets}
}

// upsert returns the change that makes the server hold e, if any.
func (p *planner) upsert(e manifest.Entity) (Change, bool) {
	c := Change{Kind: e.Kind, Name: e.Name, Key: e.Key, Doc: e.Doc}
	current := p.state.Get(e.Kind.Name, e.Key)
	basis := p.state.Fingerprint(e.Kind.Name, e.Key)
	if current == nil {
		if w := p.namesake(e); w != "" {
			p.warnings = append(p.warnings, w)
		}
		c.Action = Create
		c.Events = append(c.Events, p.event(e.Kind.Name+".created", e.Data, basis))
		c.Events = append(c.Events, p.links(e, nil, basis)...)
		return c, true
	}
	d := p.differ(e.Kind)
	c.Fields = d.diff(e.Data, current)
	had := recordedSystems(current)
	if e.Kind.Link != "" && !slices.Equal(had, e.Systems) {
		c.Fields = withoutPath(c.Fields, "metadata."+manifest.SystemsKey)
		c.Fields = append(c.Fields, FieldChange{Path: "systems", Old: anyList(had), New: anyList(e.Systems)})
	}
	if len(c.Fields) == 0 {
		return c, false
	}
	c.Action = Update
	payload := cloneMap(e.Data)
	d.preserve(payload, current)
	c.Events = append(c.Events, p.event(e.Kind.Name+".updated", payload, basis))
	c.Events = append(c.Events, p.links(e, had, basis)...)
	return c, true
}

// links returns the link and unlink events that take a deployment or an
// environment from the systems had to e.Systems.
func (p *planner) links(e manifest.Entity, had []string, basis string) []client.Event {
	if e.Kind.Link == "" {
		return nil
	}
	var out []client.Event
	for _, s := range e.Systems {
		if !slices.Contains(had, s) {
			out = append(out, p.event(e.Kind.Link+".linked", map[string]any{"systemId": s, e.Kind.LinkField: e.Key}, basis))
		}
	}
	for _, s := range had {
		if !slices.Contains(e.Systems, s) {
			out = append(out, p.event(e.Kind.Link+".unlinked", map[string]any{"systemId": s, e.Kind.LinkField: e.Key}, basis))
		}
	}
	return out
}

// recordedSystems reads the systems apply linked an entity to from its
// metadata.
func recordedSystems(item map[string]any) []string {
	meta, _ := item["metadata"].(map[string]any)
	raw := str(meta[manifest.SystemsKey])
	if raw == "" {
		return []string{}
	}
	out := strings.Split(raw, ",")
	slices.Sort(out)
	return out
}

func withoutPath(fields []FieldChange, path string) []FieldChange {
	return slices.DeleteFunc(fields, func(f FieldChange) bool { return f.Path == path })
}

func anyList(ids []string) []any {
	out := make([]any, len(ids))
	for i, s := range ids {
		out[i] = s
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
