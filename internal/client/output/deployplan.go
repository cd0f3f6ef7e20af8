package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/client"
)

// WriteDeploymentPlan prints a deployment plan for a person: a summary
// line, then per target its current version and, per agent, whether its
// job would change anything, with the diff indented under it.
func WriteDeploymentPlan(w io.Writer, p *client.DeploymentPlan, n Namer) error {
	b := &strings.Builder{}
	s := p.Summary
	fmt.Fprintf(b, "Plan %s of %s at %s: %d targets, %d with changes, %d errored, %d unsupported (%s)\n",
		p.ID, n.Name("deployment", p.DeploymentID), p.Version.Tag, s.Total, s.Changed, s.Errored, s.Unsupported, p.Status)
	if !p.ExpiresAt.IsZero() {
		fmt.Fprintf(b, "Kept until %s.\n", Time(p.ExpiresAt))
	}
	if len(p.Targets) == 0 {
		b.WriteString("\nThe deployment has no release targets.\n")
	}
	for _, t := range p.Targets {
		current := "nothing deployed"
		if t.CurrentRelease != nil {
			current = "runs " + t.CurrentRelease.Version.Tag
		}
		fmt.Fprintf(b, "\n%s / %s (%s)\n", orID(t.EnvironmentName, t.EnvironmentID), orID(t.ResourceName, t.ResourceID), current)
		for _, r := range t.Results {
			writePlanResult(b, r)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writePlanResult(b *strings.Builder, r client.PlanResult) {
	agent := orID(r.JobAgentName, r.JobAgentID)
	if r.JobAgentType != "" {
		agent += " (" + r.JobAgentType + ")"
	}
	verdict := "no changes"
	switch {
	case r.Status == "errored":
		verdict = "errored"
	case r.HasChanges:
		verdict = "changes"
	}
	if r.Status == "unsupported" {
		verdict += ", not planned by the agent"
	}
	line := fmt.Sprintf("  %s: %s", agent, verdict)
	if r.Message != "" {
		line += ": " + r.Message
	}
	b.WriteString(line + "\n")
	for _, l := range strings.Split(strings.TrimRight(r.Diff, "\n"), "\n") {
		if l != "" {
			b.WriteString("    " + l + "\n")
		}
	}
}

func orID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}
