package engine

import (
	"maps"
	"net/url"
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
	if err := u.checkJobConfig("jobAgent.config", configBinding(u.tx.WorkspaceID(), "jobAgent", a.ID), a.Config, typ); err != nil {
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
	owner := configBinding(u.tx.WorkspaceID(), "deployment", d.ID)
	if err := u.checkJobConfig("deployment.jobAgentConfig", owner, d.JobAgentConfig, u.agentTypeOf(d.JobAgentID)); err != nil {
		return err
	}
	for i := range d.JobAgents {
		e := &d.JobAgents[i]
		if e.Config == nil {
			e.Config = map[string]any{}
		}
		field := "deployment.jobAgents[" + strconv.Itoa(i) + "].config"
		if err := u.checkJobConfig(field, owner, e.Config, u.agentTypeOf(e.Ref)); err != nil {
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

// configBinding is the binding prefix of the sealed values in the config
// of one entity; each value's place in the config completes it.
func configBinding(ws, kind, id string) string { return sealBinding(ws, kind, id) }

// checkJobConfig validates the templates of a config and seals its
// secrets in place (the config is the caller's fresh copy); owner is the
// binding of the entity holding it.
func (u *unit) checkJobConfig(field, owner string, cfg map[string]any, typ *agents.Type) error {
	if err := templating.Validate(field, cfg); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		if s, ok := v.(string); ok && typ.IsSensitive(k) && s != "" {
			v = map[string]any{"sensitive": s}
		}
		sealed, err := u.sealConfigValue(field+"."+k, owner+"/"+url.PathEscape(k), v)
		if err != nil {
			return err
		}
		cfg[k] = sealed
	}
	return nil
}

// sealConfigValue returns v with every sensitive value in it sealed under
// the binding of its place: {"sensitive": "clear"} is sealed, a given
// {"sensitive": {"ciphertext": …}} must open there (a ciphertext copied
// from elsewhere is refused, as for variables).
func (u *unit) sealConfigValue(field, binding string, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if sv, ok := sensitiveOf(x); ok {
			val := model.Value{Sensitive: sv}
			if err := u.seal(field, binding, &val); err != nil {
				return nil, err
			}
			return map[string]any{"sensitive": SensitiveConfig(val.Sensitive)}, nil
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			sealed, err := u.sealConfigValue(field+"."+k, binding+"/"+url.PathEscape(k), x[k])
			if err != nil {
				return nil, err
			}
			x[k] = sealed
		}
	case []any:
		for i := range x {
			sealed, err := u.sealConfigValue(field+"["+strconv.Itoa(i)+"]", binding+"/"+strconv.Itoa(i), x[i])
			if err != nil {
				return nil, err
			}
			x[i] = sealed
		}
	}
	return v, nil
}

// sensitiveOf reads a config value of the shape {"sensitive": "clear"} or
// {"sensitive": {"ciphertext": …}}.
func sensitiveOf(m map[string]any) (*model.SensitiveValue, bool) {
	if len(m) != 1 {
		return nil, false
	}
	switch s := m["sensitive"].(type) {
	case string:
		return &model.SensitiveValue{Value: s}, true
	case map[string]any:
		ct, _ := s["ciphertext"].(string)
		hash, _ := s["valueHash"].(string)
		binding, _ := s["binding"].(string)
		clear, _ := s["value"].(string)
		return &model.SensitiveValue{Value: clear, Ciphertext: ct, ValueHash: hash, Binding: binding}, true
	}
	return nil, false
}

// SensitiveConfig is a sealed value in the shape configs hold it, under
// "sensitive"; SealedConfig reads it back.
func SensitiveConfig(s *model.SensitiveValue) map[string]any {
	return map[string]any{"ciphertext": s.Ciphertext, "valueHash": s.ValueHash, "binding": s.Binding}
}

// SealedConfig reports whether a config value is a sealed value, and
// returns it.
func SealedConfig(v any) (*model.SensitiveValue, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	s, ok := sensitiveOf(m)
	if !ok || s.Ciphertext == "" {
		return nil, false
	}
	return s, true
}

// prefixField puts prefix before the field an EINVALID error names.
func prefixField(prefix string, err error) error {
	if e, ok := err.(*model.Error); ok && e.Code == model.EINVALID {
		return &model.Error{Code: e.Code, Message: prefix + e.Message}
	}
	return err
}
