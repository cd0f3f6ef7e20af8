package dispatch

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// Opener opens sealed values. The binding is the one the engine recorded
// with each copy it made (a job's config and variables); see engine.Sealer.
type Opener interface {
	Open(v *model.SensitiveValue, binding string) (string, error)
}

// Prepare turns a stored job into what its agent is handed: its config
// with sensitive values opened and every template rendered over the
// dispatch context, its dispatch context with sensitive variables opened,
// and its document (the job as the read API shows it, with the same values
// opened and rendered, except the type's own credentials). It reads the job's release and verifications from
// r. An error is permanent: the job cannot be handed over as it stands (a
// template naming a missing value, a secret that does not open, a config
// the agent type refuses).
func Prepare(r store.Reader, workspaceID string, j *model.Job, t *agents.Type, opener Opener) (agents.Job, error) {
	out := agents.Job{WorkspaceID: workspaceID, ID: j.ID, Status: j.Status, ExternalID: j.ExternalID, CreatedAt: j.CreatedAt,
		StartedAt: j.StartedAt}
	if j.Dispatch != nil {
		out.DispatchedAt = j.Dispatch.DispatchedAt
	}
	dc := j.DispatchContext
	vars := map[string]any{}
	var openedVars map[string]model.LiteralValue
	if dc != nil {
		openedVars = make(map[string]model.LiteralValue, len(dc.Variables))
		for k, v := range dc.Variables {
			plain, err := openValue("variables."+k, v.V, opener)
			if err != nil {
				return agents.Job{}, err
			}
			vars[k] = plain
			openedVars[k] = model.LiteralValue{V: plain}
		}
	}
	opened, err := openValue("jobAgentConfig", map[string]any(j.JobAgentConfig), opener)
	if err != nil {
		return agents.Job{}, err
	}
	cfg, _ := opened.(map[string]any)
	rendered, err := templating.Render(cfg, templating.FromContext(j.ID, dc, vars))
	if err != nil {
		return agents.Job{}, agents.Permanent("jobAgentConfig: %v", err)
	}
	if t != nil && t.Validate != nil {
		if err := t.Validate(rendered, agents.ScopeJob); err != nil {
			return agents.Job{}, agents.Permanent("the job's agent config: %v", err)
		}
	}
	out.Config = rendered
	if dc != nil {
		c := *dc
		c.Variables, c.JobAgentConfig = openedVars, rendered
		out.Context = &c
	}
	view := engine.ViewJob(r, j)
	shown := *j
	shown.JobAgentConfig = credentialsSealed(rendered, j.JobAgentConfig)
	if out.Context != nil {
		c := *out.Context
		c.JobAgentConfig = shown.JobAgentConfig
		shown.DispatchContext = &c
	}
	view.Job = &shown
	if out.Document, err = json.Marshal(view); err != nil {
		return agents.Job{}, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	return out, nil
}

// credentialsSealed returns the config shown in a job's document: the
// rendered one, but with every value that was sealed in the config as
// stored, sealed: the keys a type holds its credentials in (the webhook's
// signing secret, a token), which are always stored sealed, and any other
// sealed value (a header's bearer token). They are for Gatehouse to reach
// the system, which receives them where they belong; a webhook body
// carrying the key that signs it would let whoever sees one delivery forge
// others. Values rendered from sensitive variables are the job's own and
// stay opened.
func credentialsSealed(rendered, stored map[string]any) map[string]any {
	out, _ := keepSealed(rendered, stored).(map[string]any)
	return out
}

// keepSealed returns rendered with the values that are sealed at the same
// place in stored put back sealed.
func keepSealed(rendered, stored any) any {
	if _, ok := engine.SealedConfig(stored); ok {
		return stored
	}
	switch r := rendered.(type) {
	case map[string]any:
		s, ok := stored.(map[string]any)
		if !ok {
			return rendered
		}
		out := make(map[string]any, len(r))
		for k, v := range r {
			out[k] = keepSealed(v, s[k])
		}
		return out
	case []any:
		s, ok := stored.([]any)
		if !ok || len(s) != len(r) {
			return rendered
		}
		out := make([]any, len(r))
		for i, v := range r {
			out[i] = keepSealed(v, s[i])
		}
		return out
	}
	return rendered
}

// openValue returns v with every sealed value in it (the shapes of
// engine.SealedConfig, and a sealed variable) opened to its clear text.
func openValue(field string, v any, opener Opener) (any, error) {
	if s, ok := engine.SealedConfig(v); ok {
		if opener == nil {
			return nil, agents.Permanent("%s is sensitive and no encryption key is configured to open it", field)
		}
		clear, err := opener.Open(s, s.Binding)
		if err != nil {
			return nil, agents.Permanent("%s: the sensitive value does not open: %v", field, err)
		}
		return clear, nil
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			o, err := openValue(field+"."+k, e, opener)
			if err != nil {
				return nil, err
			}
			out[k] = o
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			o, err := openValue(fmt.Sprintf("%s[%d]", field, i), e, opener)
			if err != nil {
				return nil, err
			}
			out[i] = o
		}
		return out, nil
	}
	return v, nil
}
