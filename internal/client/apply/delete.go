package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
)

// deleteOrder is the order deletes are sent in: deployments first (the
// server removes their versions, variables and links with them, and no
// older version becomes desired on the way out), policies last, so that no
// gate is lifted while the targets it guards still exist.
var deleteOrder = []string{
	"user-approval-record", "policy-skip", "workflow", "deployment", "deployment-version",
	"deployment-variable-value", "deployment-variable", "variable-set", "resource-variable", "resource", "environment",
	"relationship-rule", "resource-provider", "job-agent", "freeze", "policy", "system",
}

// entityRef names one entity of the state.
type entityRef struct{ kind, key string }

// deleting returns the plan that deletes every entity of entities that the
// server holds.
func (p *planner) deleting(entities []manifest.Entity) *Plan {
	var refs []entityRef
	for _, e := range entities {
		if p.state.Get(e.Kind.Name, e.Key) != nil {
			refs = append(refs, entityRef{e.Kind.Name, e.Key})
		}
	}
	return &Plan{Changes: p.deletes(refs), Names: p.names(entities)}
}

// pruned returns the entities apply made, under the plan's scope, that are
// not wanted any more.
func (p *planner) pruned(wanted map[string]bool) []entityRef {
	var out []entityRef
	for _, k := range manifest.Kinds {
		if !k.Prunable {
			continue
		}
		for _, key := range p.state.Keys(k.Name) {
			if !wanted[k.Name+"\x00"+key] && p.madeByApply(k.Name, key) {
				out = append(out, entityRef{k.Name, key})
			}
		}
	}
	return out
}

// madeByApply reports whether apply wrote an entity from a manifest under
// the plan's scope: its metadata says so, or, for kinds without metadata
// (variables), the metadata of the entity it belongs to.
func (p *planner) madeByApply(kind, key string) bool {
	k := manifest.KindNamed(kind)
	item := p.state.Get(kind, key)
	if k == nil || item == nil {
		return false
	}
	if !k.Metadata {
		owner, ownerKey := p.state.Owner(kind, key)
		return owner != "" && p.madeByApply(owner, ownerKey)
	}
	meta, _ := item["metadata"].(map[string]any)
	return str(meta[manifest.ManagedByKey]) == manifest.ManagedByApply && inScope(str(meta[manifest.SourceKey]), p.opt.Scope)
}

// inScope reports whether source lies under one of the applied paths.
func inScope(source string, scope []string) bool {
	for _, s := range scope {
		s = strings.TrimSuffix(s, "/")
		if s == "." || source == s || strings.HasPrefix(source, s+"/") {
			return true
		}
	}
	return false
}

// deletes returns the changes deleting refs, in deleteOrder, leaving out
// entities the server removes with an entity they belong to.
func (p *planner) deletes(refs []entityRef) []Change {
	doomed := map[entityRef]bool{}
	for _, r := range refs {
		doomed[r] = true
	}
	var out []Change
	for _, kind := range deleteOrder {
		k := manifest.KindNamed(kind)
		for _, key := range p.state.Keys(kind) {
			r := entityRef{kind, key}
			if !doomed[r] || p.ownerDoomed(r, doomed) {
				continue
			}
			current := p.state.Get(kind, key)
			out = append(out, Change{Action: Delete, Kind: k, Name: p.state.Name(kind, key), Key: key,
				Events: []client.Event{p.event(kind+".deleted", current, p.state.Fingerprint(kind, key))}})
		}
	}
	return out
}

func (p *planner) ownerDoomed(r entityRef, doomed map[entityRef]bool) bool {
	for {
		kind, key := p.state.Owner(r.kind, r.key)
		if kind == "" {
			return false
		}
		r = entityRef{kind, key}
		if doomed[r] {
			return true
		}
	}
}

// eventNamespace is the UUIDv5 namespace of apply's event ids.
var eventNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://gatehouse.dev/apply-events"))

// event returns one event with an id derived from its content and from the
// stored entity it was planned against (basis): sending the same plan again
// repeats the same ids, which the server recognises and skips.
func (p *planner) event(eventType string, data map[string]any, basis string) client.Event {
	body, err := json.Marshal(data)
	if err != nil {
		// data holds only values decoded from JSON.
		panic("apply: encode event data: " + err.Error())
	}
	sum := sha256.New()
	for _, part := range []string{p.workspace, eventType, string(body), basis, p.salt} {
		sum.Write([]byte(part))
		sum.Write([]byte{0})
	}
	id := uuid.NewSHA1(eventNamespace, []byte(hex.EncodeToString(sum.Sum(nil)))).String()
	return client.Event{EventType: eventType, WorkspaceID: p.workspace, EventID: id, Data: body}
}
