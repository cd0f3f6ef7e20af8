package engine

import (
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// agentChoice is one agent selected for a release, with its merged config.
type agentChoice struct {
	agent  *model.JobAgent
	config map[string]any
}

// chooseAgents returns the agents that get a job for a release: the
// deployment's jobAgents entries whose selector holds (an empty selector
// holds), else its jobAgentId. Entries naming a missing agent are unusable.
func chooseAgents(r store.Reader, te *targetEntities, rel *model.Release) []agentChoice {
	dep := te.deployment
	if len(dep.JobAgents) == 0 {
		a, err := store.JobAgents.Get(r, dep.JobAgentID)
		if dep.JobAgentID == "" || err != nil {
			return nil
		}
		return []agentChoice{{agent: a, config: mergeConfig(a.Config, dep.JobAgentConfig, rel.Version.JobAgentConfig)}}
	}
	var vars map[string]any
	var out []agentChoice
	for _, entry := range dep.JobAgents {
		a, err := store.JobAgents.Get(r, entry.Ref)
		if err != nil {
			continue
		}
		if entry.Selector != "" {
			m, err := jobAgentEnv.CompileCEL(entry.Selector)
			if err != nil {
				continue
			}
			if vars == nil {
				vars = te.vars()
				vars["release"] = releaseVars(rel)
			}
			if !m.Match(vars) {
				continue
			}
		}
		out = append(out, agentChoice{agent: a, config: mergeConfig(a.Config, dep.JobAgentConfig, entry.Config, rel.Version.JobAgentConfig)})
	}
	return out
}

// mergeConfig deep-merges configs, later ones winning; nested objects merge
// key by key, anything else is replaced.
func mergeConfig(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, layer := range layers {
		mergeInto(out, layer)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			dm, ok := dst[k].(map[string]any)
			if !ok {
				dm = map[string]any{}
			} else {
				dm = maps.Clone(dm)
			}
			mergeInto(dm, sm)
			dst[k] = dm
			continue
		}
		dst[k] = v
	}
}

// newJobs builds the jobs for a release: one per chosen agent, or a single
// invalidJobAgent job when no agent is usable, so the failure is visible.
func newJobs(r store.Reader, te *targetEntities, rr *resolvedRelease, now time.Time) []*model.Job {
	rel := rr.release
	choices := chooseAgents(r, te, rel)
	base := func() *model.Job {
		return &model.Job{ID: uuid.NewString(), ReleaseID: rel.ID, Status: model.JobPending,
			Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	}
	if len(choices) == 0 {
		j := base()
		j.Status = model.JobInvalidJobAgent
		j.Message = "no usable job agent for this deployment"
		j.CompletedAt = now
		j.JobAgentID = te.deployment.JobAgentID
		j.JobAgentConfig = map[string]any{}
		j.DispatchContext = dispatchContext(te, rr, model.JobAgent{}, j.JobAgentConfig)
		return []*model.Job{j}
	}
	jobs := make([]*model.Job, 0, len(choices))
	for _, c := range choices {
		j := base()
		j.JobAgentID = c.agent.ID
		j.JobAgentConfig = c.config
		j.DispatchContext = dispatchContext(te, rr, *c.agent, c.config)
		jobs = append(jobs, j)
	}
	return jobs
}

func dispatchContext(te *targetEntities, rr *resolvedRelease, agent model.JobAgent, config map[string]any) *model.DispatchContext {
	version := rr.release.Version
	return &model.DispatchContext{JobAgent: agent, JobAgentConfig: config, Release: rr.release,
		Deployment: te.deployment, Environment: te.environment, Resource: te.resource, Version: &version,
		Variables: rr.dispatch}
}
