package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// progWorld is the workspace of the progression tests: system s1 links
// staging (three targets of d1), qa (two targets), empty (no targets) and
// prod (the evaluated target); system s2 links "isolated", which shares no
// system with prod. Version v2 was created at progT0.
type progWorld struct {
	f       *progFixture
	prod    *model.ReleaseTarget
	staging []*model.ReleaseTarget
	qa      []*model.ReleaseTarget
	v1, v2  *model.DeploymentVersion
}

func newProgWorld(t *testing.T) *progWorld {
	f := newProgFixture(t)
	f.env("e-prod", "prod", "s1")
	f.env("e-staging", "staging", "s1")
	f.env("e-qa", "qa", "s1")
	f.env("e-empty", "empty", "s1")
	f.env("e-isolated", "isolated", "s2")
	f.targets("e-isolated", "r1")
	return &progWorld{
		f:       f,
		prod:    f.targets("e-prod", "r1")[0],
		staging: f.targets("e-staging", "r1", "r2", "r3"),
		qa:      f.targets("e-qa", "r1", "r2"),
		v1:      f.version("v1", progT0.Add(-24*time.Hour)),
		v2:      f.version("v2", progT0),
	}
}

func TestEvalEnvironmentProgression(t *testing.T) {
	now := progT0.Add(2 * time.Hour) // 14:00 UTC
	const staging = `"dependsOnEnvironmentSelector": {"cel": "environment.name == 'staging'"}`
	ok := model.JobSuccessful
	tests := []struct {
		name  string
		rule  string // the environmentProgression object
		setup func(w *progWorld)
		want  progWant
	}{
		{
			name: "no dependency environment matches",
			rule: `{"dependsOnEnvironmentSelector": {"cel": "environment.name == 'nope'"}}`,
			want: progWant{state: "denied", msg: "no other environment"},
		},
		{
			name: "absent selector matches nothing",
			rule: `{}`,
			want: progWant{state: "denied"},
		},
		{
			name: "the target's own environment is not a dependency",
			rule: `{"dependsOnEnvironmentSelector": {"cel": "environment.name == 'prod'"}}`,
			want: progWant{state: "denied"},
		},
		{
			name: "an environment sharing no system is not a dependency",
			rule: `{"dependsOnEnvironmentSelector": {"cel": "environment.name == 'isolated'"}}`,
			setup: func(w *progWorld) {
				w.f.job(&model.ReleaseTarget{ResourceID: "r1", EnvironmentID: "e-isolated", DeploymentID: "d1"},
					w.v2, ok, now.Add(-time.Hour))
			},
			want: progWant{state: "denied"},
		},
		{
			name: "dependency environment without targets passes",
			rule: `{"dependsOnEnvironmentSelector": {"cel": "environment.name == 'empty'"}, "minimumSuccessPercentage": 100}`,
			want: progWant{state: "allowed", satisfiedAt: progT0, msg: "empty has no targets"},
		},
		{
			name: "nothing succeeded yet",
			rule: `{` + staging + `, "minimumSuccessPercentage": 100}`,
			want: progWant{state: "pending", next: now.Add(time.Minute),
				msg: "waiting for v2 to succeed in staging (0 of 3 targets, need 100%)"},
		},
		{
			name: "percentage 0 needs one success",
			rule: `{` + staging + `}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, model.JobFailure, now.Add(-time.Hour))
			},
			want: progWant{state: "pending", next: now.Add(time.Minute),
				msg: "(0 of 3 targets, need at least one)"},
		},
		{
			name: "percentage 0 is met by one success",
			rule: `{` + staging + `}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[1], w.v2, ok, now.Add(-time.Hour))
			},
			want: progWant{state: "allowed", satisfiedAt: now.Add(-time.Hour), msg: "v2 succeeded in staging"},
		},
		{
			name: "two of three is below 66.67%",
			rule: `{` + staging + `, "minimumSuccessPercentage": 66.67}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-2*time.Hour))
				w.f.job(w.staging[1], w.v2, ok, now.Add(-time.Hour))
			},
			want: progWant{state: "pending", msg: "(2 of 3 targets, need 66.67%)"},
		},
		{
			name: "two of three reaches 66%",
			rule: `{` + staging + `, "minimumSuccessPercentage": 66}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-2*time.Hour))
				w.f.job(w.staging[1], w.v2, ok, now.Add(-time.Hour))
			},
			want: progWant{state: "allowed", satisfiedAt: now.Add(-time.Hour)},
		},
		{
			name: "all targets at 100% with satisfiedAt at the latest success",
			rule: `{` + staging + `, "minimumSuccessPercentage": 100}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-3*time.Hour))
				w.f.job(w.staging[1], w.v2, ok, now.Add(-time.Hour))
				w.f.job(w.staging[2], w.v2, ok, now.Add(-2*time.Hour))
			},
			want: progWant{state: "allowed", satisfiedAt: now.Add(-time.Hour)},
		},
		{
			name: "successes of another version do not count",
			rule: `{` + staging + `}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v1, ok, now.Add(-time.Hour))
			},
			want: progWant{state: "pending"},
		},
		{
			name: "a success without completedAt does not count",
			rule: `{` + staging + `}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, time.Time{})
			},
			want: progWant{state: "pending"},
		},
		{
			name: "successStatuses override the default",
			rule: `{` + staging + `, "successStatuses": ["skipped"]}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-2*time.Hour))
				w.f.job(w.staging[1], w.v2, model.JobSkipped, now.Add(-time.Hour))
			},
			want: progWant{state: "allowed", satisfiedAt: now.Add(-time.Hour)},
		},
		{
			name: "successStatuses override excludes successful",
			rule: `{` + staging + `, "successStatuses": ["skipped"]}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-2*time.Hour))
			},
			want: progWant{state: "pending"},
		},
		{
			name: "soak ends exactly now",
			rule: `{` + staging + `, "minimumSockTimeMinutes": 30}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-30*time.Minute))
			},
			want: progWant{state: "allowed", satisfiedAt: now},
		},
		{
			name: "soaking, asked again in a minute",
			rule: `{` + staging + `, "minimumSockTimeMinutes": 30}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-10*time.Minute))
			},
			want: progWant{state: "pending", next: now.Add(time.Minute), msg: "soaking in staging until 14:20 UTC"},
		},
		{
			name: "soak ending within the minute is asked again exactly then",
			rule: `{` + staging + `, "minimumSockTimeMinutes": 30}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-29*time.Minute-30*time.Second))
			},
			want: progWant{state: "pending", next: now.Add(30 * time.Second), msg: "until 14:00:30 UTC"},
		},
		{
			name: "soak runs from the latest success",
			rule: `{` + staging + `, "minimumSockTimeMinutes": 30}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-time.Hour))
				w.f.job(w.staging[1], w.v2, ok, now.Add(-20*time.Minute))
			},
			want: progWant{state: "pending", msg: "until 14:10 UTC"},
		},
		{
			name: "maximum age exceeded",
			rule: `{` + staging + `, "maximumAgeHours": 24}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-25*time.Hour))
			},
			want: progWant{state: "pending", next: now.Add(time.Minute), msg: "older than 24h"},
		},
		{
			name: "maximum age reached exactly",
			rule: `{` + staging + `, "maximumAgeHours": 24}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-24*time.Hour))
			},
			want: progWant{state: "allowed"},
		},
		{
			name: "a soak ending past the maximum age is not waited for exactly",
			rule: `{` + staging + `, "minimumSockTimeMinutes": 90, "maximumAgeHours": 1}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-89*time.Minute-30*time.Second))
			},
			want: progWant{state: "pending", next: now.Add(time.Minute)},
		},
		{
			name: "one passing environment of several suffices",
			rule: `{"dependsOnEnvironmentSelector": {"cel": "environment.name in ['staging', 'qa']"}, "minimumSuccessPercentage": 100}`,
			setup: func(w *progWorld) {
				w.f.job(w.qa[0], w.v2, ok, now.Add(-3*time.Hour))
				w.f.job(w.qa[1], w.v2, ok, now.Add(-2*time.Hour))
			},
			want: progWant{state: "allowed", satisfiedAt: now.Add(-2 * time.Hour), msg: "succeeded in qa"},
		},
		{
			name: "the environment that passed first gives satisfiedAt",
			rule: `{"dependsOnEnvironmentSelector": {"cel": "environment.name in ['staging', 'qa']"}}`,
			setup: func(w *progWorld) {
				w.f.job(w.qa[0], w.v2, ok, now.Add(-time.Hour))
				w.f.job(w.staging[2], w.v2, ok, now.Add(-3*time.Hour))
			},
			want: progWant{state: "allowed", satisfiedAt: now.Add(-3 * time.Hour)},
		},
		{
			name: "every failing environment is named",
			rule: `{"dependsOnEnvironmentSelector": {"cel": "environment.name in ['staging', 'qa']"}}`,
			want: progWant{state: "pending", msg: "in qa (0 of 2 targets, need at least one); waiting for v2 to succeed in staging"},
		},
		{
			name: "JSON selector",
			rule: `{"dependsOnEnvironmentSelector": {"json": {"type": "name", "operator": "equals", "value": "staging"}}}`,
			setup: func(w *progWorld) {
				w.f.job(w.staging[0], w.v2, ok, now.Add(-time.Hour))
			},
			want: progWant{state: "allowed"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newProgWorld(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			rule := progRule(t, `{"id": "r", "environmentProgression": `+tc.rule+`}`)
			got := evalEnvironmentProgression(w.f.input(now, w.prod, w.v2), rule)
			if got.Kind != KindEnvironmentProgression || got.RuleID != "r" {
				t.Errorf("kind, ruleId = %q, %q", got.Kind, got.RuleID)
			}
			tc.want.check(t, got)
		})
	}
}

func TestEvalEnvironmentProgression_SoakSpellings(t *testing.T) {
	now := progT0.Add(2 * time.Hour)
	for _, field := range []string{"minimumSockTimeMinutes", "minimumSoakTimeMinutes"} {
		t.Run(field, func(t *testing.T) {
			w := newProgWorld(t)
			w.f.job(w.staging[0], w.v2, model.JobSuccessful, now.Add(-20*time.Minute))
			rule := progRule(t, `{"environmentProgression": {"dependsOnEnvironmentSelector": {"cel": "environment.name == 'staging'"}, "`+
				field+`": 30}}`)
			if got := rule.EnvironmentProgression.MinimumSoakTimeMinutes; got != 30 {
				t.Fatalf("decoded soak = %d, want 30", got)
			}
			progWant{state: "pending", msg: "soaking in staging until 14:10 UTC"}.
				check(t, evalEnvironmentProgression(w.f.input(now, w.prod, w.v2), rule))
			progWant{state: "allowed", satisfiedAt: now.Add(10 * time.Minute)}.
				check(t, evalEnvironmentProgression(w.f.input(now.Add(10*time.Minute), w.prod, w.v2), rule))
		})
	}
}
