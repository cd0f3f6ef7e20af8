package engine

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// FindTarget returns the release target a caller names by key: its
// identity (model.CompositeKey of resource, environment and deployment) or
// its wire form "resourceId-environmentId-deploymentId". The wire form is
// read by trying every way of cutting it in three at dashes; when more than
// one cut names an existing target (ids containing dashes), the key is
// ambiguous and refused with EINVALID naming the candidates, so that a
// caller never acts on a target it did not mean.
func FindTarget(r store.Reader, key string) (*model.ReleaseTarget, error) {
	if t, err := store.ReleaseTargets.Get(r, key); err == nil {
		return t, nil
	}
	var found []*model.ReleaseTarget
	for i := strings.IndexByte(key, '-'); i >= 0; i = next(key, i) {
		for j := next(key, i); j >= 0; j = next(key, j) {
			t := model.ReleaseTarget{ResourceID: key[:i], EnvironmentID: key[i+1 : j], DeploymentID: key[j+1:]}
			if stored, err := store.ReleaseTargets.Get(r, t.Key()); err == nil {
				found = append(found, stored)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, model.Errorf(model.ENOTFOUND, "release target %q not found", key)
	case 1:
		return found[0], nil
	}
	var names []string
	for _, t := range found {
		names = append(names, "(resource "+t.ResourceID+", environment "+t.EnvironmentID+", deployment "+t.DeploymentID+")")
	}
	return nil, model.Invalid("releaseTarget", "key %q is ambiguous: it names %s; give resourceId, environmentId and deploymentId instead",
		key, strings.Join(names, " and "))
}

// next returns the index of the first dash after position i, or -1.
func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '-')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}
