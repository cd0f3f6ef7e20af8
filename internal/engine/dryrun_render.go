package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// How a plan shows a job without opening a secret: sealed config values
// as their keyed hash, sensitive variables as a placeholder naming the
// start of theirs, so that a changed secret still shows as a change.

// planJobID stands for the job id in a plan's templates: there is no job,
// and the current job's own id would make every plan differ.
const planJobID = "<job id>"

// plannerTimeout bounds one agent planner's answer: long enough for a
// speculative Terraform run, which takes as long as a plan.
const plannerTimeout = 5 * time.Minute

// planInput renders what a job for choice c would be given, and what the
// job that deployed the current release on the same agent was given.
func planInput(r store.Reader, te *targetEntities, rr *resolvedRelease, c agentChoice) (agents.PlanInput, error) {
	proposed, err := renderForPlan(c.config, dispatchContext(te, rr, *c.agent, c.config))
	if err != nil {
		return agents.PlanInput{}, err
	}
	in := agents.PlanInput{WorkspaceID: te.resource.WorkspaceID, Proposed: proposed}
	if cur := currentJob(r, te.target.Key(), c.agentID); cur != nil && cur.DispatchContext != nil {
		if in.Current, err = renderForPlan(cur.JobAgentConfig, cur.DispatchContext); err != nil {
			return agents.PlanInput{}, errors.New("the current job's config: " + err.Error())
		}
	}
	return in, nil
}

// planCredentials opens the values of t's sensitive keys in config for
// its planner (see agents.PlanInput.Credentials); a value that does not
// open is left out, and the planner then says it cannot plan.
func (e *Engine) planCredentials(t *agents.Type, config map[string]any) map[string]string {
	if t == nil || t.Planner == nil || len(t.Sensitive) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, k := range t.Sensitive {
		if v, ok := config[k].(string); ok {
			out[k] = v
		} else if clear, sealed, err := e.openSealed(config[k]); sealed && err == nil {
			out[k] = clear
		}
	}
	return out
}

// renderForPlan renders a job's config over its dispatch context with
// every secret left sealed.
func renderForPlan(config map[string]any, dc *model.DispatchContext) (map[string]any, error) {
	masked, _ := maskSealed(map[string]any(config)).(map[string]any)
	return templating.Render(masked, templating.FromContext(planJobID, dc, maskedVariables(dc)))
}

// maskSealed returns a copy of v with each sealed value replaced by its
// keyed hash.
func maskSealed(v any) any {
	if s, ok := SealedConfig(v); ok {
		return map[string]any{"sensitive": map[string]any{"valueHash": s.ValueHash}}
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = maskSealed(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskSealed(e)
		}
		return out
	}
	return v
}

// maskedVariables are a dispatch context's variables as templates see them
// in a plan: sensitive ones (those the release lists as encrypted) as
// "(sensitive <hash>)".
func maskedVariables(dc *model.DispatchContext) map[string]any {
	out := make(map[string]any, len(dc.Variables))
	for k, v := range dc.Variables {
		out[k] = v.V
	}
	if dc.Release == nil {
		return out
	}
	for _, k := range dc.Release.EncryptedVariables {
		hash := ""
		if m, ok := dc.Release.Variables[k].V.(map[string]any); ok {
			s, _ := m["sensitive"].(map[string]any)
			hash, _ = s["valueHash"].(string)
		}
		out[k] = "(sensitive " + hash[:min(len(hash), 12)] + ")"
	}
	return out
}

// completeResult fills one agent result: the texts compared, as the agent
// type's planner gives them or as the rendered configs, their diff, and
// whether they differ.
func completeResult(ctx context.Context, res *model.PlanResult, pj plannedJob) {
	if err := validatePlanned(pj.typ, pj.in.Proposed); err != nil {
		res.Status, res.Message = model.PlanErrored, "the job's agent config: "+err.Error()
		return
	}
	out := agents.PlanOutput{Current: configText(pj.in.Current), Proposed: configText(pj.in.Proposed)}
	res.Status = model.PlanComputed
	if pj.typ != nil && pj.typ.Planner != nil {
		pctx, cancel := context.WithTimeout(ctx, plannerTimeout)
		native, err := pj.typ.Planner.Plan(pctx, pj.in)
		cancel()
		switch {
		case errors.Is(err, agents.ErrPlanUnsupported):
			res.Status, res.Message = model.PlanUnsupported, err.Error()
		case err != nil:
			res.Status, res.Message = model.PlanErrored, err.Error()
			return
		default:
			out = native
			res.Message = native.Message
		}
	}
	sum := sha256.Sum256([]byte(out.Proposed))
	res.Current, res.Proposed, res.ContentHash = out.Current, out.Proposed, hex.EncodeToString(sum[:])
	res.HasChanges = out.Current != out.Proposed
	res.Diff = lineDiff(out.Current, out.Proposed)
}

// validatePlanned checks a rendered config as a dispatch would, except for
// what only an opened secret could tell: a complaint about a sensitive key
// is not the plan's to make.
func validatePlanned(t *agents.Type, cfg map[string]any) error {
	if t == nil || t.Validate == nil {
		return nil
	}
	err := t.Validate(cfg, agents.ScopeJob)
	if err == nil {
		return nil
	}
	key, _, _ := strings.Cut(model.ErrorField(err), ".")
	key, _, _ = strings.Cut(key, "[")
	if t.IsSensitive(key) {
		return nil
	}
	return err
}

// configText is a rendered config as YAML with sorted keys; "" for none.
func configText(cfg map[string]any) string {
	if cfg == nil {
		return ""
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return ""
	}
	return string(b)
}

// lineDiff is the unified diff of two texts, "" when they are equal.
func lineDiff(current, proposed string) string {
	if current == proposed {
		return ""
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: lines(current), B: lines(proposed),
		FromFile: "current", ToFile: "proposed", Context: 3})
	if err != nil {
		return ""
	}
	return d
}

// lines splits a text into its lines, each with its newline; an empty text
// has none (difflib's SplitLines would give it one empty line).
func lines(text string) []string {
	if text == "" {
		return nil
	}
	out := strings.SplitAfter(text, "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// summarize sets a plan's targets' change flags, its summary and its
// status: failed when any result errored.
func summarize(p *model.DeploymentPlan) {
	s := model.PlanSummary{Total: len(p.Targets)}
	for i := range p.Targets {
		t := &p.Targets[i]
		statuses := map[string]bool{}
		for _, r := range t.Results {
			t.HasChanges = t.HasChanges || r.HasChanges
			statuses[r.Status] = true
		}
		if t.HasChanges {
			s.Changed++
		}
		if statuses[model.PlanErrored] {
			s.Errored++
		}
		if statuses[model.PlanUnsupported] {
			s.Unsupported++
		}
	}
	s.Unchanged = s.Total - s.Changed
	p.Summary = s
	p.Status = model.PlanCompleted
	if s.Errored > 0 {
		p.Status = model.PlanFailed
	}
}
