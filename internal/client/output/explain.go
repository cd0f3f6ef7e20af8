package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/client"
)

// Explanation is what `explain` shows of one release target: its state and
// how its policies judge each candidate version, newest first.
type Explanation struct {
	Target      client.ReleaseTarget
	Evaluations []*client.Evaluation
}

// WriteExplanation prints x for a person: the target, then every
// candidate version with its creation time and verdict, and under it every
// rule of every matching policy with its verdict, message and times.
func WriteExplanation(w io.Writer, x Explanation, n Namer) error {
	t := x.Target
	b := &strings.Builder{}
	fmt.Fprintf(b, "Release target:   %s / %s / %s\n", n.Name("deployment", t.DeploymentID),
		n.Name("environment", t.EnvironmentID), n.Name("resource", t.ResourceID))
	fmt.Fprintf(b, "Current version:  %s\n", orNone(releaseTag(t.CurrentRelease)))
	fmt.Fprintf(b, "Desired version:  %s\n", orNone(releaseTag(t.DesiredRelease)))
	if j := t.LatestJob; j != nil {
		tag := ""
		if j.Release != nil {
			tag = " for " + j.Release.Version.Tag
		}
		line := fmt.Sprintf("%s%s, created %s", j.Status, tag, Time(j.CreatedAt))
		if !j.CompletedAt.IsZero() {
			line += ", completed " + Time(j.CompletedAt)
		}
		fmt.Fprintf(b, "Latest job:       %s\n", line)
	}
	if t.Reason != "" {
		fmt.Fprintf(b, "Engine says:      %s\n", t.Reason)
	}
	if len(x.Evaluations) > 0 && x.Evaluations[0].Frozen != "" {
		// A freeze holds the target, whatever the version.
		fmt.Fprintf(b, "Jobs held:        %s\n", x.Evaluations[0].Frozen)
	}
	if t.NextEvaluationTime != nil {
		fmt.Fprintf(b, "Next evaluation:  %s\n", TimePtr(t.NextEvaluationTime))
	}
	if len(x.Evaluations) == 0 {
		b.WriteString("\nThe deployment has no versions.\n")
	}
	for _, ev := range x.Evaluations {
		b.WriteString("\n")
		writeEvaluation(b, ev, t)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeEvaluation(b *strings.Builder, ev *client.Evaluation, t client.ReleaseTarget) {
	v := ev.Version
	verdict := "blocked"
	if ev.Allowed {
		verdict = "allowed"
	}
	var marks []string
	if t.DesiredRelease != nil && t.DesiredRelease.Version.ID == v.ID {
		marks = append(marks, "desired")
	}
	if t.CurrentRelease != nil && t.CurrentRelease.Version.ID == v.ID {
		marks = append(marks, "current")
	}
	if len(marks) > 0 {
		verdict += " (" + strings.Join(marks, ", ") + ")"
	}
	fmt.Fprintf(b, "%s  created %s  %s\n", v.Tag, Time(v.CreatedAt), verdict)
	if v.Status != "ready" && v.Status != "" {
		fmt.Fprintf(b, "  [%s] version status %s: %s\n", mark(ev.Allowed, false), v.Status, ev.Message)
	} else {
		b.WriteString("  [pass] version status ready\n")
	}
	for _, r := range ev.Checks {
		ruleLine(b, "  ", r)
	}
	if len(ev.Policies) == 0 && (v.Status == "ready" || v.Status == "") {
		b.WriteString("  no policy applies\n")
	}
	for _, pe := range ev.Policies {
		fmt.Fprintf(b, "  policy %s\n", pe.Policy.Name)
		if len(pe.RuleResults) == 0 && len(pe.SkippedRuleIDs) == 0 {
			b.WriteString("    no gating rules\n")
		}
		for _, r := range pe.RuleResults {
			ruleLine(b, "    ", r)
		}
		for _, id := range pe.SkippedRuleIDs {
			fmt.Fprintf(b, "    [skip] rule %s: lifted by a policy skip\n", id)
		}
	}
}

// ruleLine writes one rule's (or check's) verdict with its times.
func ruleLine(b *strings.Builder, indent string, r client.RuleResult) {
	line := fmt.Sprintf("%s[%s] %s: %s", indent, mark(r.Allowed, r.ActionRequired), r.Kind, r.Message)
	if r.SatisfiedAt != nil {
		line += "; satisfied " + TimePtr(r.SatisfiedAt)
	}
	if r.NextEvaluationTime != nil {
		line += "; next evaluation " + TimePtr(r.NextEvaluationTime)
	}
	b.WriteString(line + "\n")
}

// mark is a rule's verdict in one word.
func mark(allowed, pending bool) string {
	switch {
	case allowed:
		return "pass"
	case pending:
		return "wait"
	}
	return "deny"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
