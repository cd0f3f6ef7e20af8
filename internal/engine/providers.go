package engine

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Resource providers report the resources they see; set-resources replaces
// a provider's whole set at once (SPEC §5).

var providerKind = entityKind[model.ResourceProvider]{
	name: "resource-provider", table: store.ResourceProviders,
	check: func(u *unit, p *model.ResourceProvider) error {
		p.WorkspaceID = u.tx.WorkspaceID()
		if p.CreatedAt.IsZero() {
			p.CreatedAt = u.tx.Now()
		}
		return nil
	},
	// A deleted provider's resources stay; they just belong to no provider.
	beforeRemove: func(u *unit, p *model.ResourceProvider) error {
		for _, r := range store.ResourcesByProvider.Get(u.tx, p.ID) {
			next := *r
			next.ProviderID = ""
			next.UpdatedAt = u.tx.Now()
			if err := resourceKind.put(u, &next); err != nil {
				return err
			}
		}
		return nil
	},
}

// SkippedResource is a resource of a provider's set that was not applied
// because another provider owns its identifier.
type SkippedResource struct {
	// Index is the event's position in its batch.
	Index      int    `json:"index"`
	Identifier string `json:"identifier"`
	// OwnerID is the provider that owns the identifier.
	OwnerID string `json:"ownerId"`
}

// resourceNamespace is the UUIDv5 namespace of the ids given to resources
// a provider's set names without one.
var resourceNamespace = uuid.MustParse("3f0c8a42-9d1e-4b7a-a6c5-5e2d1f8b9c70")

// setProviderResources handles resource-provider.set-resources {providerId,
// resources[]}: the provider's full set, in one unit of work, matched by
// identifier (not id). An identifier owned by another provider is skipped
// and reported; an unowned one is claimed; the provider's own are updated;
// new ones are created with the provider's id; the provider's resources
// missing from the set are deleted.
//
// A resource that would not change is not written, and one sent exactly as
// in the provider's previous set (the same JSON text) is not even decoded,
// so a set of 10,000 resources with 100 changes costs about 100 changes.
func setProviderResources(u *unit, data json.RawMessage) error {
	var ev struct {
		ProviderID string            `json:"providerId"`
		Resources  []json.RawMessage `json:"resources"`
	}
	if err := wire.Decode(data, &ev, ""); err != nil {
		return err
	}
	if err := requireExists(u.tx, store.ResourceProviders, "providerId", ev.ProviderID); err != nil {
		return err
	}
	last := u.ws.lastSets[ev.ProviderID]
	next := make(map[string]*model.Resource, len(ev.Resources))
	seen := make(map[string]bool, len(ev.Resources))
	for i, raw := range ev.Resources {
		field := fmt.Sprintf("resources[%d]", i)
		r, unchanged := last[string(raw)]
		if unchanged {
			// The same text as last time, and the resource it gave is still
			// the one stored: nothing to do.
			current, err := store.ResourcesByIdentifier.First(u.tx, r.Identifier)
			unchanged = err == nil && current == r
		}
		if !unchanged {
			var err error
			if r, err = decodeKey[model.Resource](raw, field); err != nil {
				return err
			}
			if r.Identifier == "" {
				return model.Invalid(field+".identifier", "is required")
			}
		}
		if seen[r.Identifier] {
			return model.Invalid(field+".identifier", "%q appears twice in the set", r.Identifier)
		}
		seen[r.Identifier] = true
		if unchanged {
			next[string(raw)] = r
			continue
		}
		stored, err := u.setProviderResource(ev.ProviderID, r)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		if stored != nil {
			next[string(raw)] = stored
		}
	}
	for _, own := range store.ResourcesByProvider.Get(u.tx, ev.ProviderID) {
		if !seen[own.Identifier] {
			if err := resourceKind.delete(u, own); err != nil {
				return err
			}
		}
	}
	// Kept even if the unit fails: a remembered resource that was never
	// committed is not the stored one, so it is decoded again next time.
	u.ws.lastSets[ev.ProviderID] = next
	return nil
}

// setProviderResource applies one resource of a provider's set and returns
// the resource stored for it, or nil when it was skipped.
func (u *unit) setProviderResource(providerID string, r *model.Resource) (*model.Resource, error) {
	existing, err := store.ResourcesByIdentifier.First(u.tx, r.Identifier)
	switch {
	case err == nil && existing.ProviderID != "" && existing.ProviderID != providerID:
		u.skipped = append(u.skipped, SkippedResource{Identifier: r.Identifier, OwnerID: existing.ProviderID})
		return nil, nil
	case err == nil:
		// Matched by identifier: the stored resource keeps its id and
		// creation time.
		r.ID, r.CreatedAt = existing.ID, existing.CreatedAt
	case r.ID == "":
		r.ID = uuid.NewSHA1(resourceNamespace, []byte(u.tx.WorkspaceID()+"\x00"+r.Identifier)).String()
	}
	r.ProviderID = providerID
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if r.Config == nil {
		r.Config = map[string]any{}
	}
	if existing != nil && sameResource(existing, r) {
		return existing, nil
	}
	if existing != nil {
		r.UpdatedAt = u.tx.Now()
	}
	if err := resourceKind.put(u, r); err != nil {
		return nil, err
	}
	return r, nil
}

// sameResource reports whether a resource of a set says nothing new about
// the stored one (its times are the engine's).
func sameResource(stored, r *model.Resource) bool {
	return stored.Name == r.Name && stored.Version == r.Version && stored.Kind == r.Kind &&
		stored.Identifier == r.Identifier && stored.ProviderID == r.ProviderID &&
		stored.LockedAt.Equal(r.LockedAt) && stored.DeletedAt.Equal(r.DeletedAt) &&
		reflect.DeepEqual(stored.Metadata, r.Metadata) && sameJSON(stored.Config, r.Config)
}
