package console

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
)

// The grid says in a few words why a version waits ("1 approval missing",
// "window opens 14:00 UTC"); the target page gives the rules' own
// messages in full. The short forms are read from each rule's kind, its
// details and its next evaluation time; a rule this file does not know is
// shown by its message.

// shortEvaluation says why an evaluation does not allow its version: the
// short reason of every rule that does not pass, or the version's status.
func shortEvaluation(e *engine.Evaluation, now time.Time) string {
	var out []string
	for _, pe := range e.Policies {
		for _, r := range pe.Results {
			if r.Allowed {
				continue
			}
			if s := shortResult(r, now); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		// Only the built-in check fails: the version is not ready.
		return fmt.Sprintf("%s is %s", versionName(e.Version), e.Version.Status)
	}
	return strings.Join(out, "; ")
}

// shortResult says in a few words why one rule does not pass.
func shortResult(r policy.Result, now time.Time) string {
	next := ""
	if r.NextEvaluationTime != nil {
		next = policy.ClockTime(*r.NextEvaluationTime, now)
	}
	switch r.Kind {
	case policy.KindAnyApproval:
		need, ok1 := number(r.Details["minApprovals"])
		have, ok2 := number(r.Details["approvals"])
		if ok1 && ok2 && need > have {
			return fmt.Sprintf("%d %s missing", need-have, plural(need-have, "approval", "approvals"))
		}
	case policy.KindDeploymentWindow:
		switch {
		case next != "" && strings.Contains(r.Message, "deny window"):
			return "deny window until " + next
		case next != "":
			return "window opens " + next
		}
		return "no deployment window ahead"
	case policy.KindEnvironmentProgression:
		if envs := waitingEnvironments(r.Details["environments"]); envs != "" {
			return "waiting for " + envs
		}
	case policy.KindGradualRollout:
		if next != "" {
			return "rollout slot opens " + next
		}
		return "rollout not started"
	case policy.KindVersionCooldown:
		if next != "" {
			return "cooldown until " + next
		}
	case policy.KindVersionSelector:
		return "excluded by the version selector"
	case policy.KindDeploymentDependency:
		if r.ActionRequired {
			return "waiting for dependencies"
		}
	}
	return r.Message
}

// waitingEnvironments names the dependency environments of a progression
// result that do not pass yet, with their counts: "staging (2/4)".
func waitingEnvironments(v any) string {
	list, ok := v.([]map[string]any)
	if !ok {
		return ""
	}
	var out []string
	for _, env := range list {
		if passed, _ := env["passed"].(bool); passed {
			continue
		}
		name, _ := env["name"].(string)
		if name == "" {
			name, _ = env["environmentId"].(string)
		}
		done, ok1 := number(env["succeeded"])
		total, ok2 := number(env["total"])
		if ok1 && ok2 && done < total {
			name += fmt.Sprintf(" (%d/%d)", done, total)
		}
		out = append(out, name)
	}
	return strings.Join(out, " or ")
}

// number reads a count from rule details, as the engine builds them in
// process (int) or as they read back from JSON.
func number(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
