package engine

import (
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// EligibleQuery narrows and bends EligibleVersions.
type EligibleQuery struct {
	// ExcludeRules are rule ids or rule kinds ("anyApproval") to evaluate
	// as if they were skipped: what would be eligible without them.
	ExcludeRules []string
	// Filter is a CEL expression over version; only the versions it
	// matches are answered. Empty matches all.
	Filter string
}

// versionFilterEnv is what an eligible-versions filter sees.
var versionFilterEnv = selector.MustNewEnv("version")

// EligibleVersions answers, reading snap and changing nothing, the versions
// of the target's deployment that pass the built-in status check and every
// rule of its policies now (minus unexpired skips and the rules q
// excludes), newest first. targetKey is read as FindTarget reads it. A
// filter that does not compile, or an excluded rule that is neither a rule
// kind nor the id of a policy rule, is EINVALID naming the parameter.
func (e *Engine) EligibleVersions(snap store.Reader, targetKey string, q EligibleQuery) ([]*model.DeploymentVersion, error) {
	t, err := FindTarget(snap, targetKey)
	if err != nil {
		return nil, err
	}
	var filter *selector.Matcher
	if strings.TrimSpace(q.Filter) != "" {
		if filter, err = versionFilterEnv.CompileCEL(q.Filter); err != nil {
			return nil, model.Invalid("filter", "%v", err)
		}
	}
	exclude, err := excludedRules(snap, q.ExcludeRules)
	if err != nil {
		return nil, err
	}
	p, err := newPlanner(e.cfg.Logger, snap, e.cfg.Clock().UTC())
	if err != nil {
		return nil, err
	}
	p.exclude = exclude
	te, err := loadTarget(snap, t)
	if err != nil {
		return nil, err
	}
	policies, err := p.matchingPolicies(te)
	if err != nil {
		return nil, err
	}
	out := []*model.DeploymentVersion{}
	for _, v := range history.Versions(snap, t.DeploymentID) {
		if filter != nil && !filter.Match(map[string]any{"version": selector.VersionVars(v)}) {
			continue
		}
		if p.evaluateVersion(te, policies, v).Allowed {
			out = append(out, v)
		}
	}
	return out, nil
}

// excludedRules checks the names of rules to exclude: each must be a rule
// kind or the id of a rule of some policy of the workspace, so that a typo
// does not silently exclude nothing.
func excludedRules(r store.Reader, names []string) (map[string]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	ids := map[string]bool{}
	for _, p := range store.Policies.Items(r) {
		for i := range p.Rules {
			ids[p.Rules[i].ID] = true
		}
	}
	out := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !ids[n] && !slices.Contains(policy.Kinds, n) {
			return nil, model.Invalid("excludeRules", "%q is neither a rule kind (%s) nor the id of a policy rule",
				n, strings.Join(policy.Kinds, ", "))
		}
		out[n] = true
	}
	return out, nil
}
