package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/manifest"
)

// Resolve returns the key of the entity of kind that ref names: its id, a
// name, or, for kinds that belong to another, "owner/name" ("api/v1.2.0");
// owner, when given, names the entity it belongs to instead. The snapshot
// must hold kind and, for those, its owner's kind.
func (s *Snapshot) Resolve(kind, ref, owner string) (string, error) {
	k := manifest.KindNamed(kind)
	if k == nil {
		return "", fmt.Errorf("unknown kind %q", kind)
	}
	ownerKind := ""
	for _, r := range k.Refs {
		if r.Into == k.Parent && k.Parent != "" {
			ownerKind = r.Kind
		}
	}
	if owner == "" && ownerKind != "" {
		if i := strings.LastIndex(ref, "/"); i > 0 {
			owner, ref = ref[:i], ref[i+1:]
		}
	}
	parent := ""
	if owner != "" && ownerKind != "" {
		var err error
		if parent, err = s.Resolve(ownerKind, owner, ""); err != nil {
			return "", err
		}
	}
	key, err := s.Find(kind, parent, ref)
	var ambiguous *AmbiguousError
	if errors.As(err, &ambiguous) && ownerKind != "" && owner == "" {
		var names []string
		for _, k := range ambiguous.Keys {
			names = append(names, s.Name(kind, k))
		}
		sort.Strings(names)
		return "", fmt.Errorf("%q names %d entities of kind %s: say which, as one of %s", ref, len(names), kind, strings.Join(names, ", "))
	}
	if errors.Is(err, manifest.ErrNotFound) {
		if owner != "" {
			return "", fmt.Errorf("no %s %q in %s %q", kind, ref, ownerKind, owner)
		}
		return "", fmt.Errorf("no %s named %q", kind, ref)
	}
	return key, err
}

// ResolveTarget returns the release target ref names: its key, or
// "deployment/environment/resource" by name (or id; the resource part may
// hold slashes, as identifiers do).
func ResolveTarget(ctx context.Context, c *client.Client, s *Snapshot, ref string) (*client.ReleaseTarget, error) {
	parts := strings.SplitN(ref, "/", 3)
	if len(parts) != 3 {
		raw, err := c.Get(ctx, client.ReleaseTargets, ref)
		if client.IsStatus(err, http.StatusNotFound) {
			return nil, fmt.Errorf("no release target %q: name it by its key or as deployment/environment/resource", ref)
		}
		if err != nil {
			return nil, err
		}
		return decodeTarget(raw)
	}
	var f client.Filter
	var err error
	if f.DeploymentID, err = s.Resolve("deployment", parts[0], ""); err != nil {
		return nil, err
	}
	if f.EnvironmentID, err = s.Resolve("environment", parts[1], ""); err != nil {
		return nil, err
	}
	if f.ResourceID, err = s.Resolve("resource", parts[2], ""); err != nil {
		return nil, err
	}
	targets, err := c.ReleaseTargets(ctx, f)
	if err != nil {
		return nil, err
	}
	for i := range targets {
		t := &targets[i]
		if t.DeploymentID == f.DeploymentID && t.EnvironmentID == f.EnvironmentID && t.ResourceID == f.ResourceID {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%s is not a release target: the deployment and the environment share no system, or a selector leaves the resource out", ref)
}

func decodeTarget(raw []byte) (*client.ReleaseTarget, error) {
	var t client.ReleaseTarget
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("decode release target: %w", err)
	}
	return &t, nil
}
