package console

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestShortResult(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	at := func(t time.Time) *time.Time { return &t }
	tests := []struct {
		name string
		r    policy.Result
		want string
	}{
		{"approvals", policy.Result{Kind: policy.KindAnyApproval, ActionRequired: true,
			Details: map[string]any{"minApprovals": 3, "approvals": 1}}, "2 approvals missing"},
		{"approvals read back from JSON", policy.Result{Kind: policy.KindAnyApproval, ActionRequired: true,
			Details: map[string]any{"minApprovals": float64(1), "approvals": float64(0)}}, "1 approval missing"},
		{"an allow window", policy.Result{Kind: policy.KindDeploymentWindow, ActionRequired: true,
			Message: "outside the deployment window; it opens at 14:00 UTC", NextEvaluationTime: at(now.Add(270 * time.Minute))},
			"window opens 14:00 UTC"},
		{"a window tomorrow", policy.Result{Kind: policy.KindDeploymentWindow, ActionRequired: true,
			Message: "outside the deployment window", NextEvaluationTime: at(now.Add(24 * time.Hour))},
			"window opens 2026-03-03 09:30 UTC"},
		{"a deny window", policy.Result{Kind: policy.KindDeploymentWindow, ActionRequired: true,
			Message: "inside a deny window until 10:00 UTC", NextEvaluationTime: at(now.Add(30 * time.Minute))},
			"deny window until 10:00 UTC"},
		{"progression", policy.Result{Kind: policy.KindEnvironmentProgression, ActionRequired: true,
			Details: map[string]any{"environments": []map[string]any{
				{"name": "staging", "succeeded": 2, "total": 4, "passed": false},
				{"name": "qa", "succeeded": 1, "total": 1, "passed": true},
				{"name": "canary", "succeeded": 1, "total": 1, "passed": false},
			}}}, "waiting for staging (2/4) or canary"},
		{"a rollout slot", policy.Result{Kind: policy.KindGradualRollout, ActionRequired: true,
			NextEvaluationTime: at(now.Add(10 * time.Minute))}, "rollout slot opens 09:40 UTC"},
		{"a rollout not started", policy.Result{Kind: policy.KindGradualRollout, ActionRequired: true}, "rollout not started"},
		{"a cooldown", policy.Result{Kind: policy.KindVersionCooldown, NextEvaluationTime: at(now.Add(90 * time.Second))},
			"cooldown until 09:31:30 UTC"},
		{"a version selector", policy.Result{Kind: policy.KindVersionSelector, Message: "version v2 does not match"},
			"excluded by the version selector"},
		{"a kind it does not know", policy.Result{Kind: "somethingNew", Message: "as the rule says"}, "as the rule says"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := shortResult(tc.r, now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOrderEnvironments(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	env := func(id string, created time.Duration) *model.Environment {
		return &model.Environment{ID: id, Name: id, CreatedAt: t0.Add(created)}
	}
	names := func(envs []*model.Environment) []string {
		var out []string
		for _, e := range envs {
			out = append(out, e.Name)
		}
		return out
	}
	dev, staging, prod, qa := env("dev", 0), env("staging", 0), env("prod", 0), env("qa", time.Hour)
	tests := []struct {
		name  string
		envs  []*model.Environment
		after map[string][]string
		want  []string
	}{
		{"by name when nothing else tells", []*model.Environment{prod, staging, dev}, nil, []string{"dev", "prod", "staging"}},
		{"by creation first", []*model.Environment{qa, prod, dev}, nil, []string{"dev", "prod", "qa"}},
		{"after what they progress from", []*model.Environment{prod, staging, dev},
			map[string][]string{"staging": {"dev"}, "prod": {"staging"}}, []string{"dev", "staging", "prod"}},
		{"either dependency", []*model.Environment{prod, qa, staging, dev},
			map[string][]string{"prod": {"staging", "qa"}, "staging": {"dev"}}, []string{"dev", "staging", "qa", "prod"}},
		{"a dependency outside the system is ignored", []*model.Environment{prod, dev},
			map[string][]string{"dev": {"elsewhere"}}, []string{"dev", "prod"}},
		{"a cycle still places everything", []*model.Environment{prod, dev},
			map[string][]string{"dev": {"prod"}, "prod": {"dev"}}, []string{"dev", "prod"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(orderEnvironments(tc.envs, tc.after)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
