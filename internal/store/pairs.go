package store

import (
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Release targets are indexed by resource and by (environment, deployment)
// pair only. An environment's or a deployment's targets are the union of
// its pairs: a workspace has few pairs, while indexes of their own would
// cost two more index entries for each of a million targets, in memory and
// in every fan-out.

// PairLookup finds release targets by one side of their pair: every target
// of an environment, or of a deployment.
type PairLookup struct {
	deploymentSide bool
}

var (
	// TargetsByEnvironment is every release target of an environment.
	TargetsByEnvironment = PairLookup{}
	// TargetsByDeployment is every release target of a deployment.
	TargetsByDeployment = PairLookup{deploymentSide: true}
)

// Get returns the targets whose environment (or deployment) is id, in key
// order. The returned values must not be modified.
func (l PairLookup) Get(r Reader, id string) []*model.ReleaseTarget {
	v, done := r.view()
	defer done()
	var keys []string
	needle := model.CompositeKey(id)
	for _, pair := range v.indexValues(ReleaseTargets.Name, byPair) {
		if l.holds(pair, id, needle) {
			keys = append(keys, v.unsortedKeys(ReleaseTargets.Name, byPair, pair)...)
		}
	}
	slices.Sort(keys)
	return ReleaseTargets.collect(v, keys)
}

// holds reports whether the pair key names id (escaped: needle) on the
// lookup's side. The environment side is a prefix test: CompositeKey's
// escaping makes the first unescaped "/" the separator. A suffix can be
// ambiguous, so the deployment side splits the key when the suffix
// matches.
func (l PairLookup) holds(pair, id, needle string) bool {
	if !l.deploymentSide {
		return len(pair) > len(needle) && pair[len(needle)] == '/' && strings.HasPrefix(pair, needle)
	}
	if len(pair) <= len(needle) || pair[len(pair)-len(needle)-1] != '/' || !strings.HasSuffix(pair, needle) {
		return false
	}
	parts, ok := model.SplitCompositeKey(pair)
	return ok && len(parts) == 2 && parts[1] == id
}
