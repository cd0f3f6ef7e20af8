package policy

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Rollout types of a gradual rollout rule (validated when the policy is written).
const (
	rolloutLinear           = "linear"
	rolloutLinearNormalized = "linear-normalized"
)

// evalGradualRollout lets the targets of one deployment and environment take
// a version one after another (see SPEC §4). Each target gets a slot,
// start + offset(position); before its slot it waits until exactly then, at
// or after it the rule allows with satisfiedAt = slot.
//
// The rollout starts when the version was created, or, when the target's
// approval or progression rules answered before this one (in.Prior), when
// the last of them was satisfied; while any of them is not allowed the
// rollout has not started.
func evalGradualRollout(in *Input, rule *model.PolicyRule) Result {
	g := rule.GradualRollout
	if g.RolloutType != rolloutLinear && g.RolloutType != rolloutLinearNormalized && g.RolloutType != "" {
		return Deny(rule, KindGradualRollout, fmt.Sprintf("unknown rolloutType %q", g.RolloutType))
	}
	start, started := rolloutStart(in)
	if !started {
		return Pending(rule, KindGradualRollout, ActionWait,
			"rollout has not started: waiting for approval/progression")
	}
	pos, total := rolloutPosition(in)
	slot := start.Add(rolloutOffset(g, pos, total))
	details := map[string]any{
		"position":    pos, // 0-based; messages count slots from 1
		"total":       total,
		"rolloutType": g.RolloutType,
		"start":       start.UTC(),
		"slot":        slot.UTC(),
	}
	var r Result
	if in.Now.Before(slot) {
		r = Pending(rule, KindGradualRollout, ActionWait, fmt.Sprintf("rollout slot %d of %d opens at %s",
			pos+1, total, clockTime(slot, in.Now))).At(slot)
	} else {
		r = Allow(rule, KindGradualRollout, fmt.Sprintf("rollout slot %d of %d opened at %s",
			pos+1, total, clockTime(slot, in.Now))).Satisfied(slot)
	}
	r.Details = details
	return r
}

// rolloutStart returns when the rollout of the version started, and false
// when an approval or progression rule has not been satisfied yet. Allowed
// results without a satisfiedAt (an approval rule needing none, say) do not
// move the start; when none carries one, the start is the version's
// createdAt.
func rolloutStart(in *Input) (time.Time, bool) {
	start := in.Version.CreatedAt
	var latest time.Time
	for _, p := range in.Prior {
		if p.Kind != KindAnyApproval && p.Kind != KindEnvironmentProgression {
			continue
		}
		if !p.Allowed {
			return time.Time{}, false
		}
		if p.SatisfiedAt != nil && p.SatisfiedAt.After(latest) {
			latest = *p.SatisfiedAt
		}
	}
	if !latest.IsZero() {
		start = latest
	}
	return start, true
}

// rolloutPosition returns the target's 0-based position in the rollout
// order of its deployment and environment, and the number of targets there.
// The order is computed once per round for all of them.
func rolloutPosition(in *Input) (int, int) {
	pair := store.PairKey(in.Target.EnvironmentID, in.Target.DeploymentID)
	positions := memoized(in.Memo, "rollout/"+pair+"/"+in.Version.ID, func() map[string]int {
		order := rolloutOrder(in.Reader, in.Target, in.Version.ID)
		m := make(map[string]int, len(order))
		for i, k := range order {
			m[k] = i
		}
		return m
	})
	if pos, ok := positions[in.Target.Key()]; ok {
		return pos, len(positions)
	}
	// A target the memoized order does not know yet goes last.
	return len(positions), len(positions) + 1
}

// rolloutOrder returns the keys of the targets of target's deployment and
// environment in rollout order: ascending FNV-1a-64 of targetKey+versionID,
// ties by key. Hashing with the version id varies the order between
// versions, so the same target is not always first (FNV-1a mixes its last
// bytes weakly: ids that differ only at the end, v1 and v2, may share an
// order; UUIDs do not). The order depends only on keys, so every evaluation
// agrees on it. The target itself is included even
// if the derived target table does not list it (yet).
func rolloutOrder(r store.Reader, target *model.ReleaseTarget, versionID string) []string {
	type ranked struct {
		key  string
		hash uint64
	}
	var all []ranked
	seen := false
	for _, t := range store.TargetsByPair.Get(r, store.PairKey(target.EnvironmentID, target.DeploymentID)) {
		all = append(all, ranked{key: t.Key(), hash: rolloutHash(t.WireKey(), versionID)})
		seen = seen || t.Key() == target.Key()
	}
	if !seen {
		all = append(all, ranked{key: target.Key(), hash: rolloutHash(target.WireKey(), versionID)})
	}
	slices.SortFunc(all, func(a, b ranked) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	keys := make([]string, len(all))
	for i, t := range all {
		keys[i] = t.key
	}
	return keys
}

// rolloutHash is FNV-1a-64 of the target's wire key
// (resourceId-environmentId-deploymentId, SPEC §4) followed by versionID.
func rolloutHash(targetKey, versionID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(targetKey + versionID)) // a hash.Hash never returns an error
	return h.Sum64()
}

// rolloutOffset is how long after the start position pos of total may
// deploy: pos·interval for linear, (pos/total)·interval for
// linear-normalized, so that a normalized rollout ends within one interval
// however many targets there are. The normalized offset is computed in
// floating point and truncated to whole seconds, keeping slot times on
// second boundaries as in linear rollouts. Both saturate rather than
// overflow, so a huge interval stored before the write-time bounds holds
// later targets back instead of letting them through at once.
func rolloutOffset(g *model.GradualRolloutRule, pos, total int) time.Duration {
	interval := int64(max(g.TimeScaleInterval, 0))
	if g.RolloutType == rolloutLinearNormalized {
		// Clamped so that the float product always fits an int64.
		interval = min(interval, int64(math.MaxInt64/time.Second))
		return model.DurationOf(int64(float64(pos)/float64(total)*float64(interval)), time.Second)
	}
	return model.DurationOf(int64(pos), model.DurationOf(interval, time.Second))
}
