package engine

import (
	"maps"
	"slices"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// Job agent configs are checked when written (SPEC §8): the agent's type
// must be known and its config valid for it, every string template must
// parse and name fields the dispatch context has, and secrets are sealed
// before anything is stored: the values of the keys the type declares
// sensitive, and any {"sensitive": "..."} value anywhere.

// checkJobAgent validates and seals a job agent before it is written.
func (u *unit) checkJobAgent(a *model.JobAgent) error {
	var typ *agents.Type
	if reg := u.engine.cfg.Agents; reg != nil {
		t, err := reg.Lookup(a.Type)
		if err != nil {
			return err
		}
		typ = t
	}
	if err := u.checkJobConfig("jobAgent.config", a.Config, typ); err != nil {
		return err
	}
	if typ != nil && typ.Validate != nil {
		if err := typ.Validate(a.Config, agents.ScopeAgent); err != nil {
			return prefixField("jobAgent.config.", err)
		}
	}
	return nil
}

// checkDeploymentAgents checks the agent configs a deployment carries.
func (u *unit) checkDeploymentAgents(d *model.Deployment) error {
	if err := u.checkJobConfig("deployment.jobAgentConfig", d.JobAgentConfig, u.agentTypeOf(d.JobAgentID)); err != nil {
		return err
	}
	for i := range d.JobAgents {
		e := &d.JobAgents[i]
		if e.Config == nil {
			e.Config = map[string]any{}
		}
		if err := u.checkJobConfig("deployment.jobAgents["+strconv.Itoa(i)+"].config", e.Config, u.agentTypeOf(e.Ref)); err != nil {
			return err
		}
	}
	return nil
}

// agentTypeOf returns the type of a stored agent, nil when unknown.
func (u *unit) agentTypeOf(agentID string) *agents.Type {
	reg := u.engine.cfg.Agents
	if reg == nil || agentID == "" {
		return nil
	}
	a, err := store.JobAgents.Get(u.tx, agentID)
	if err != nil {
		return nil
	}
	return reg[a.Type]
}

// checkJobConfig validates the templates of a config and seals its
// secrets in place (the config is the caller's fresh copy).
func (u *unit) checkJobConfig(field string, cfg map[string]any, typ *agents.Type) error {
	if err := templating.Validate(field, cfg); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		if s, ok := v.(string); ok && typ.IsSensitive(k) && s != "" {
			v = map[string]any{"sensitive": s}
		}
		sealed, err := u.sealConfigValue(field+"."+k, v)
		if err != nil {
			return err
		}
		cfg[k] = sealed
	}
	return nil
}

// sealConfigValue returns v with every {"sensitive": "clear"} in it sealed.
func (u *unit) sealConfigValue(field string, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if clear, ok := x["sensitive"].(string); ok && len(x) == 1 {
			val := model.Value{Sensitive: &model.SensitiveValue{Value: clear}}
			if err := u.seal(field, &val); err != nil {
				return nil, err
			}
			return map[string]any{"sensitive": sensitiveMap(val.Sensitive)}, nil
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			sealed, err := u.sealConfigValue(field+"."+k, x[k])
			if err != nil {
				return nil, err
			}
			x[k] = sealed
		}
	case []any:
		for i := range x {
			sealed, err := u.sealConfigValue(field+"["+strconv.Itoa(i)+"]", x[i])
			if err != nil {
				return nil, err
			}
			x[i] = sealed
		}
	}
	return v, nil
}

// sensitiveMap is a sealed value in the shape configs hold it.
func sensitiveMap(s *model.SensitiveValue) map[string]any {
	return map[string]any{"ciphertext": s.Ciphertext, "valueHash": s.ValueHash}
}

// prefixField puts prefix before the field an EINVALID error names.
func prefixField(prefix string, err error) error {
	if e, ok := err.(*model.Error); ok && e.Code == model.EINVALID {
		return &model.Error{Code: e.Code, Message: prefix + e.Message}
	}
	return err
}
