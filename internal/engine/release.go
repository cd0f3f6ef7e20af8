package engine

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/engine/relations"
	"github.com/gatehouse-dev/gatehouse/internal/engine/variables"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// releaseNamespace is the UUIDv5 namespace of release ids.
var releaseNamespace = uuid.MustParse("1b6f6a5e-4a8c-4f5e-9d2a-7c3e8b1f0d42")

// targetEntities are the three entities of a release target.
type targetEntities struct {
	target      *model.ReleaseTarget
	resource    *model.Resource
	environment *model.Environment
	deployment  *model.Deployment
}

func loadTarget(r store.Reader, t *model.ReleaseTarget) (*targetEntities, error) {
	res, err := store.Resources.Get(r, t.ResourceID)
	if err != nil {
		return nil, err
	}
	env, err := store.Environments.Get(r, t.EnvironmentID)
	if err != nil {
		return nil, err
	}
	dep, err := store.Deployments.Get(r, t.DeploymentID)
	if err != nil {
		return nil, err
	}
	return &targetEntities{target: t, resource: res, environment: env, deployment: dep}, nil
}

func (te *targetEntities) vars() map[string]any {
	return map[string]any{"resource": resourceVars(te.resource), "environment": environmentVars(te.environment),
		"deployment": deploymentVars(te.deployment)}
}

// resolvedRelease is a release with what a job needs besides it: the
// variables as the agent sees them (sensitive ones still sealed).
type resolvedRelease struct {
	release  *model.Release
	dispatch map[string]model.LiteralValue
}

// buildRelease resolves the target's variables for a version and returns
// the release, with its content-derived id. Sensitive values enter the
// release as their hash and the dispatch variables as their ciphertext; the
// clear text is never stored.
func buildRelease(r store.Reader, te *targetEntities, v *model.DeploymentVersion, rel *relationIndex) (*resolvedRelease, error) {
	vars := store.VariablesByDeployment.Get(r, te.deployment.ID)
	if len(vars) == 0 {
		// Only a deployment's variables make release variables: without
		// any there is nothing to resolve, and a fan-out skips building
		// the selector inputs and matching variable sets for every target.
		return finishRelease(&model.Release{Version: v, Variables: map[string]model.LiteralValue{},
			EncryptedVariables: []string{}, ReleaseTarget: *te.target}, map[string]model.LiteralValue{})
	}
	in := variables.Input{
		Variables:    vars,
		Values:       map[string][]*model.DeploymentVariableValue{},
		ResourceVars: map[string]*model.ResourceVariable{},
		Resource:     resourceVars(te.resource),
		Environment:  environmentVars(te.environment),
		Deployment:   deploymentVars(te.deployment),
		Resolve: func(reference string) (map[string]any, bool) {
			return rel.firstRelated(model.EntityResource, te.resource.ID, reference)
		},
	}
	sealed := map[string]*model.SensitiveValue{}
	in.Decrypt = func(s *model.SensitiveValue) (string, error) {
		// The hash stands in for the clear text: it identifies the secret for
		// the release id without revealing it.
		sealed[s.ValueHash] = s
		return s.ValueHash, nil
	}
	for _, dv := range in.Variables {
		in.Values[dv.ID] = store.ValuesByVariable.Get(r, dv.ID)
	}
	for _, rv := range store.ResourceVariablesByResource.Get(r, te.resource.ID) {
		in.ResourceVars[rv.Key] = rv
	}
	sets, err := matchingSets(r, te)
	if err != nil {
		return nil, err
	}
	in.Sets = sets
	res, err := variables.Resolve(in)
	if err != nil {
		return nil, model.Invalid("variables", "%v", err)
	}
	release := &model.Release{Version: v, Variables: res.Values, EncryptedVariables: res.Sensitive,
		ReleaseTarget: *te.target}
	if release.EncryptedVariables == nil {
		release.EncryptedVariables = []string{}
	}
	dispatch := make(map[string]model.LiteralValue, len(res.Values))
	for k, val := range res.Values {
		dispatch[k] = val
	}
	for _, k := range res.Sensitive {
		hash, _ := res.Values[k].V.(string)
		release.Variables[k] = model.LiteralValue{V: map[string]any{"sensitive": map[string]any{"valueHash": hash}}}
		// The binding travels with the ciphertext, so that the dispatcher can
		// open it; it was written by the engine when the value was stored.
		dispatch[k] = model.LiteralValue{V: map[string]any{"sensitive": map[string]any{
			"ciphertext": sealed[hash].Ciphertext, "binding": sealed[hash].Binding}}}
	}
	return finishRelease(release, dispatch)
}

// finishRelease gives a built release its content-derived id.
func finishRelease(release *model.Release, dispatch map[string]model.LiteralValue) (*resolvedRelease, error) {
	id, err := releaseID(release)
	if err != nil {
		return nil, err
	}
	release.ID = id
	return &resolvedRelease{release: release, dispatch: dispatch}, nil
}

// releaseID derives a release's id from its version, variables and target,
// so the same content always has the same id, across restarts too.
func releaseID(r *model.Release) (string, error) {
	// encoding/json writes map keys sorted, which makes the encoding canonical.
	content, err := json.Marshal(struct {
		VersionID string                        `json:"versionId"`
		Tag       string                        `json:"tag"`
		Variables map[string]model.LiteralValue `json:"variables"`
		Target    string                        `json:"target"`
	}{r.Version.ID, r.Version.Tag, r.Variables, r.ReleaseTarget.Key()})
	if err != nil {
		return "", fmt.Errorf("release id: %w", err)
	}
	sum := sha256.Sum256(content)
	return uuid.NewSHA1(releaseNamespace, sum[:]).String(), nil
}

// relationIndex finds related entities for variable references. It compiles
// each relationship rule once per unit of work and evaluates only the pairs
// that involve the entity asked about.
type relationIndex struct {
	// mu guards the caches: plans are computed in parallel.
	mu         sync.Mutex
	r          store.Reader
	rules      []*relations.Rule
	cache      map[string]relatedResult
	candidates map[string][]candidate
}

type relatedResult struct {
	entity map[string]any
	ok     bool
}

func newRelationIndex(r store.Reader) (*relationIndex, error) {
	idx := &relationIndex{r: r, cache: map[string]relatedResult{}, candidates: map[string][]candidate{}}
	for _, m := range store.RelationshipRules.Items(r) {
		rule, err := relations.Compile(m)
		if err != nil {
			return nil, err
		}
		idx.rules = append(idx.rules, rule)
	}
	return idx, nil
}

// firstRelated returns the first entity (in id order) related to the given
// entity through a rule with the reference name, in either direction.
func (x *relationIndex) firstRelated(entityType, id, reference string) (map[string]any, bool) {
	key := entityType + "/" + id + "/" + reference
	x.mu.Lock()
	hit, ok := x.cache[key]
	x.mu.Unlock()
	if ok {
		return hit.entity, hit.ok
	}
	var found relatedResult
	for _, rel := range x.related(entityType, id) {
		if rel.Rule.Model().Reference == reference {
			found = relatedResult{entity: rel.Entity, ok: true}
			break
		}
	}
	x.mu.Lock()
	x.cache[key] = found
	x.mu.Unlock()
	return found.entity, found.ok
}

// Relation is one entity related to another through a rule.
type Relation struct {
	Rule       *relations.Rule
	Direction  string // "to" when the asked entity is the rule's from side
	EntityType string
	EntityID   string
	Entity     map[string]any
}

// related returns every relation of one entity, both directions, ordered by
// rule then related entity id.
func (x *relationIndex) related(entityType, id string) []Relation {
	self, ok := entityVars(x.r, entityType, id)
	if !ok {
		return nil
	}
	var out []Relation
	for _, rule := range x.rules {
		m := rule.Model()
		if m.FromType == entityType && rule.FromMatches(self) {
			for _, c := range x.candidatesOf(m.ToType) {
				if rule.Related(entityType, id, self, m.ToType, c.id, c.vars) {
					out = append(out, Relation{Rule: rule, Direction: "to", EntityType: m.ToType, EntityID: c.id, Entity: c.vars})
				}
			}
		}
		if m.ToType == entityType && rule.ToMatches(self) {
			for _, c := range x.candidatesOf(m.FromType) {
				if rule.Related(m.FromType, c.id, c.vars, entityType, id, self) {
					out = append(out, Relation{Rule: rule, Direction: "from", EntityType: m.FromType, EntityID: c.id, Entity: c.vars})
				}
			}
		}
	}
	return out
}

type candidate struct {
	id   string
	vars map[string]any
}

// candidatesOf returns every entity of a type with its selector map, built
// once per index because each relation question scans them.
func (x *relationIndex) candidatesOf(entityType string) []candidate {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.candidates[entityType]
	if !ok {
		c = candidates(x.r, entityType)
		x.candidates[entityType] = c
	}
	return c
}

func candidates(r store.Reader, entityType string) []candidate {
	var out []candidate
	switch entityType {
	case model.EntityResource:
		for _, e := range store.Resources.Items(r) {
			out = append(out, candidate{e.ID, resourceVars(e)})
		}
	case model.EntityDeployment:
		for _, e := range store.Deployments.Items(r) {
			out = append(out, candidate{e.ID, deploymentVars(e)})
		}
	case model.EntityEnvironment:
		for _, e := range store.Environments.Items(r) {
			out = append(out, candidate{e.ID, environmentVars(e)})
		}
	}
	return out
}

func entityVars(r store.Reader, entityType, id string) (map[string]any, bool) {
	switch entityType {
	case model.EntityResource:
		if e, err := store.Resources.Get(r, id); err == nil {
			return resourceVars(e), true
		}
	case model.EntityDeployment:
		if e, err := store.Deployments.Get(r, id); err == nil {
			return deploymentVars(e), true
		}
	case model.EntityEnvironment:
		if e, err := store.Environments.Get(r, id); err == nil {
			return environmentVars(e), true
		}
	}
	return nil, false
}
