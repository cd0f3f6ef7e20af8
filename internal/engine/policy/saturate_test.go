package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TestRules_HugeStoredValuesNeverShortenAWait evaluates rules holding
// values far past the write-time bounds, as a database written before them
// may hold: counts whose product with their unit overflows time.Duration.
// Each must keep the version waiting, never let it through at once.
func TestRules_HugeStoredValuesNeverShortenAWait(t *testing.T) {
	now := progT0.Add(time.Hour)
	tests := []struct {
		name string
		rule string
		// setup prepares the world; it returns the evaluated target and
		// candidate.
		setup func(f *progFixture) (*model.ReleaseTarget, *model.DeploymentVersion)
		want  progWant
	}{
		{
			name: "versionCooldown.intervalSeconds",
			rule: `{"id": "r", "versionCooldown": {"intervalSeconds": 9300000000}}`,
			setup: func(f *progFixture) (*model.ReleaseTarget, *model.DeploymentVersion) {
				target := f.targets("e-prod", "r1")[0]
				f.job(target, f.version("v1", progT0), model.JobSuccessful, progT0.Add(time.Minute))
				return target, f.version("v2", progT0.Add(2*time.Minute))
			},
			want: progWant{state: "denied", msg: "cooldown:"},
		},
		{
			name: "environmentProgression.minimumSockTimeMinutes",
			rule: `{"id": "r", "environmentProgression": {"dependsOnEnvironmentSelector": {"cel": "environment.name == 'staging'"},
				"minimumSockTimeMinutes": 200000000}}`,
			setup: func(f *progFixture) (*model.ReleaseTarget, *model.DeploymentVersion) {
				f.env("e-staging", "staging", "s1")
				v := f.version("v1", progT0)
				f.job(f.targets("e-staging", "r1")[0], v, model.JobSuccessful, progT0.Add(time.Minute))
				return f.targets("e-prod", "r1")[0], v
			},
			want: progWant{state: "pending"},
		},
		{
			name: "gradualRollout.timeScaleInterval, linear",
			rule: `{"id": "r", "gradualRollout": {"rolloutType": "linear", "timeScaleInterval": 15000000000}}`,
			setup: func(f *progFixture) (*model.ReleaseTarget, *model.DeploymentVersion) {
				v := f.version("v1", progT0)
				targets := f.targets("e-prod", "r1", "r2", "r3")
				return lastInOrder(targets, v.ID), v
			},
			want: progWant{state: "pending"},
		},
		{
			name: "gradualRollout.timeScaleInterval, linear-normalized",
			rule: `{"id": "r", "gradualRollout": {"rolloutType": "linear-normalized", "timeScaleInterval": 15000000000}}`,
			setup: func(f *progFixture) (*model.ReleaseTarget, *model.DeploymentVersion) {
				v := f.version("v1", progT0)
				targets := f.targets("e-prod", "r1", "r2", "r3")
				return lastInOrder(targets, v.ID), v
			},
			want: progWant{state: "pending"},
		},
		{
			name: "deploymentWindow.durationMinutes",
			rule: `{"id": "r", "deploymentWindow": {"rrule": "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", "durationMinutes": 200000000,
				"allowWindow": false}}`,
			setup: func(f *progFixture) (*model.ReleaseTarget, *model.DeploymentVersion) {
				target := f.targets("e-prod", "r1")[0]
				f.job(target, f.version("v1", progT0.AddDate(-1, 0, 0)), model.JobSuccessful, progT0.AddDate(-1, 0, 0))
				return target, f.version("v2", progT0)
			},
			// A deny window this long holds every version back.
			want: progWant{state: "pending", msg: "inside a deny window"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newProgFixture(t)
			f.env("e-prod", "prod", "s1")
			target, v := tc.setup(f)
			tc.want.check(t, Evaluate(f.input(now, target, v), progRule(t, tc.rule)))
		})
	}
}

// lastInOrder returns the target a rollout of versionID reaches last.
func lastInOrder(targets []*model.ReleaseTarget, versionID string) *model.ReleaseTarget {
	order := expectedOrder(targets, versionID)
	for _, t := range targets {
		if t.Key() == order[len(order)-1] {
			return t
		}
	}
	return nil
}

func TestWithinAge_HugeMaximumAge(t *testing.T) {
	p := &model.EnvironmentProgressionRule{MaximumAgeHours: 3_000_000}
	if !withinAge(p, progT0, progT0.Add(24*time.Hour)) {
		t.Error("a success one day old is older than 3,000,000 hours")
	}
}

func TestRetry_HugeBackoffWaits(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	huge := 9_300_000_000
	failed := []*model.Job{{ID: "1", ReleaseID: "r", Status: model.JobFailure, CompletedAt: now.Add(-time.Minute)}}
	for _, rule := range []*model.RetryRule{
		{MaxRetries: 3, BackoffSeconds: &huge},
		{MaxRetries: 3, BackoffSeconds: &huge, BackoffStrategy: "exponential"},
	} {
		w := Walk{ReleaseID: "r", Same: func(*model.Job) bool { return true }}
		d := Retry(now, failed, w, []*model.RetryRule{rule})
		if d.Allowed || d.NextEvaluationTime == nil || !d.NextEvaluationTime.After(now.AddDate(100, 0, 0)) {
			t.Errorf("%s backoff of %d s: allowed %v, next %v; want a wait of centuries", rule.BackoffStrategy, huge,
				d.Allowed, d.NextEvaluationTime)
		}
	}
}
