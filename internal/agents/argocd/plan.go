package argocd

import (
	"context"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

// Plan compares the Application a job would upsert with the one the
// current job upserted, both rendered from their templates. Argo CD is
// not asked: what changes in the Application is what the upsert changes,
// and the manifests it would then render are Argo CD's own business.
func (a *agent) Plan(_ context.Context, in agents.PlanInput) (agents.PlanOutput, error) {
	proposed, err := applicationText(in.Proposed)
	if err != nil {
		return agents.PlanOutput{}, err
	}
	out := agents.PlanOutput{Proposed: proposed}
	if in.Current != nil {
		// A current job whose template no longer reads (written before a
		// stricter check) is shown as nothing, so that the whole of the
		// proposed Application reads as new.
		out.Current, _ = applicationText(in.Current)
	}
	return out, nil
}

// applicationText is the Application of a rendered config, as YAML with
// its keys sorted.
func applicationText(cfg map[string]any) (string, error) {
	raw, _, err := readManifest(cfg["template"], false)
	if err != nil {
		return "", err
	}
	text, err := yaml.JSONToYAML(raw)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	return string(text), nil
}
