package engine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"dario.cat/mergo"
	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

var jobAgentKind = entityKind[model.JobAgent]{
	name: "job-agent", table: store.JobAgents,
	check: func(u *unit, a *model.JobAgent) error {
		a.WorkspaceID = u.tx.WorkspaceID()
		if a.Config == nil {
			a.Config = map[string]any{}
		}
		return u.checkJobAgent(a)
	},
	// What an agent is (its type and config) is part of every job made for
	// it, so a change re-evaluates the deployments that use it.
	afterUpsert: func(u *unit, _, a *model.JobAgent) error { u.markAgentUsers(a.ID); return nil },
	afterRemove: func(u *unit, a *model.JobAgent) error { u.markAgentUsers(a.ID); return nil },
}

// markAgentUsers marks the targets of the deployments naming an agent.
func (u *unit) markAgentUsers(agentID string) {
	for _, d := range store.Deployments.Items(u.tx) {
		uses := d.JobAgentID == agentID
		for _, e := range d.JobAgents {
			uses = uses || e.Ref == agentID
		}
		if uses {
			u.markDeployment(d.ID)
		}
	}
}

// agentChoice is one agent a release's job is given to, with the merged
// config it gets; or, when no agent can take it, why (problem), so that the
// misconfiguration shows as an invalidJobAgent job.
type agentChoice struct {
	// agentID is the agent's id; for an unusable choice, the id the
	// deployment named ("" when it named none).
	agentID string
	// agent is nil for an unusable choice.
	agent  *model.JobAgent
	config map[string]any
	// problem is set for an unusable choice.
	problem string
}

func (c agentChoice) agentType() string {
	if c.agent == nil {
		return ""
	}
	return c.agent.Type
}

// made reports whether j was made for exactly this choice: the same agent,
// of the same type, given the same config. A job made for an agent or
// config as they were before does not count as this choice's attempt.
func (c agentChoice) made(j *model.Job) bool {
	jobType := ""
	if j.DispatchContext != nil {
		jobType = j.DispatchContext.JobAgent.Type
	}
	return j.JobAgentID == c.agentID && jobType == c.agentType() && sameJSON(j.JobAgentConfig, c.config)
}

// chooseAgents returns the agents that get a job for a release, never none:
// each of the deployment's jobAgents entries whose selector holds (an empty
// selector holds), else its jobAgentId. An entry or jobAgentId naming an
// agent that does not exist, or no entry holding, gives an unusable choice.
//
// configs, when not nil, shares the merged configs of a planning round.
func chooseAgents(r store.Reader, te *targetEntities, rel *model.Release, configs *configMemo) []agentChoice {
	dep := te.deployment
	if len(dep.JobAgents) == 0 {
		if dep.JobAgentID == "" {
			return []agentChoice{{config: map[string]any{}, problem: "the deployment names no job agent"}}
		}
		a, err := store.JobAgents.Get(r, dep.JobAgentID)
		if err != nil {
			return []agentChoice{missingAgent(dep.JobAgentID)}
		}
		return []agentChoice{{agentID: a.ID, agent: a, config: configs.merge(a.Config, dep.JobAgentConfig, nil, rel.Version.JobAgentConfig)}}
	}
	var vars map[string]any
	var out []agentChoice
	for _, entry := range dep.JobAgents {
		if entry.Selector != "" {
			m, err := jobAgentEnv.CompileCEL(entry.Selector)
			if err != nil {
				continue // refused when the deployment was written; never reached
			}
			if vars == nil {
				vars = te.vars()
				vars["release"] = releaseVars(rel)
			}
			if !m.Match(vars) {
				continue
			}
		}
		a, err := store.JobAgents.Get(r, entry.Ref)
		if err != nil {
			out = append(out, missingAgent(entry.Ref))
			continue
		}
		out = append(out, agentChoice{agentID: a.ID, agent: a,
			config: configs.merge(a.Config, dep.JobAgentConfig, entry.Config, rel.Version.JobAgentConfig)})
	}
	if len(out) == 0 {
		return []agentChoice{{config: map[string]any{}, problem: "no jobAgents entry of the deployment selects this release"}}
	}
	return out
}

func missingAgent(id string) agentChoice {
	return agentChoice{agentID: id, config: map[string]any{}, problem: fmt.Sprintf("job agent %q does not exist", id)}
}

// retryWalk is the walk of the retry rules for one of a release's chosen
// agents: the jobs of the others chosen with it are siblings, and rollback
// jobs of other releases are passed over (a rollback from this release does
// not make it desired anew).
func retryWalk(releaseID string, c agentChoice, all []agentChoice) policy.Walk {
	return policy.Walk{ReleaseID: releaseID, Same: c.made,
		Sibling: func(j *model.Job) bool {
			for _, o := range all {
				if o.made(j) {
					return true
				}
			}
			return false
		},
		Skip: func(j *model.Job) bool { return j.ReleaseID != releaseID && j.Metadata[metaRollbackOf] != "" },
	}
}

// metaRollbackOf is the job metadata key naming the failed job a rollback
// job was made for.
const metaRollbackOf = "rollbackOf"

// mergeConfig deep-merges configs, later ones winning; nested objects merge
// key by key, anything else (lists included) is replaced. The layers are
// not changed: each is merged as a copy of its objects, because the merge
// writes into the objects already merged.
func mergeConfig(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, layer := range layers {
		// Merge fails only for arguments of different or unsupported
		// types, never for two maps of one type.
		if err := mergo.Merge(&out, cloneObjects(layer), mergo.WithOverride); err != nil {
			panic("engine: merge job agent config: " + err.Error())
		}
	}
	return out
}

// cloneObjects copies m and every object nested in it; other values are
// shared, as nothing writes into them.
func cloneObjects(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sm, ok := v.(map[string]any); ok {
			v = cloneObjects(sm)
		}
		out[k] = v
	}
	return out
}

// jobNamespace is the UUIDv5 namespace of job ids.
var jobNamespace = uuid.MustParse("7c1d2e9a-6b3f-4f0e-8d5a-2e4b6c8a0f13")

// jobID derives a job's id from its release, its agent and the attempt: the
// n-th job of a release on an agent always has the same id, so a decision
// taken twice (an event applied again after a commit whose outcome was
// unknown) can never create a second job for one attempt.
func jobID(r store.Reader, releaseID, agentID string) string {
	n := 0
	for _, j := range store.JobsByRelease.Get(r, releaseID) {
		if j.JobAgentID == agentID {
			n++
		}
	}
	for ; ; n++ {
		id := uuid.NewSHA1(jobNamespace, []byte(releaseID+"\x00"+agentID+"\x00"+strconv.Itoa(n))).String()
		if !store.Jobs.Has(r, id) {
			return id
		}
	}
}

// newJobs builds a release's jobs for the given choices: a pending job per
// usable agent, an invalidJobAgent job naming the problem for an unusable
// one, so the failure is visible.
func newJobs(r store.Reader, te *targetEntities, rr *resolvedRelease, now time.Time, choices []agentChoice) []*model.Job {
	rel := rr.release
	jobs := make([]*model.Job, 0, len(choices))
	for _, c := range choices {
		j := &model.Job{ID: jobID(r, rel.ID, c.agentID), ReleaseID: rel.ID, JobAgentID: c.agentID, JobAgentConfig: c.config,
			Status: model.JobPending, Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
		agent := model.JobAgent{ID: c.agentID}
		if c.agent != nil {
			agent = *c.agent
		} else {
			j.Status, j.Message, j.CompletedAt = model.JobInvalidJobAgent, c.problem, now
		}
		j.DispatchContext = dispatchContext(te, rr, agent, c.config)
		jobs = append(jobs, j)
	}
	return jobs
}

func dispatchContext(te *targetEntities, rr *resolvedRelease, agent model.JobAgent, config map[string]any) *model.DispatchContext {
	// Entities in the store are immutable values, so the context shares
	// them (and the release's version) instead of copying: it still shows
	// them as they were when the job was made.
	return &model.DispatchContext{JobAgent: agent, JobAgentConfig: config, Release: rr.release,
		Deployment: te.deployment, Environment: te.environment, Resource: te.resource, Version: rr.release.Version,
		Variables: rr.dispatch}
}

// sameJSON reports whether two decoded JSON values are equal, numbers by
// value whatever their Go type (float64 from a decode, json.Number where
// precision was kept), so that a config read back from the database equals
// the one it was written from.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	switch a.(type) {
	case nil, string, bool:
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}
