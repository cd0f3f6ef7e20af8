package engine

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// hostileRule is a policy rule a write must refuse, and the field the
// refusal must name.
type hostileRule struct {
	name  string
	rule  map[string]any
	field string
}

// wantRefused applies a policy holding each rule and checks that the event
// is refused as invalid, naming the field, with nothing stored.
func wantRefused(t *testing.T, cases []hostileRule) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _, _ := newScheduledHarness(t)
			t.Cleanup(h.eng.Close)
			world(h, "r1")
			tc.rule["id"] = "bad"
			err := h.apply("policy.created", policyOf("hostile", "true", tc.rule))
			if code := model.ErrorCode(err); code != model.EINVALID {
				t.Fatalf("error %v (code %q), want %q", err, code, model.EINVALID)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
			if n := store.Policies.Count(h.snapshot()); n != 0 {
				t.Errorf("%d policies stored after a refused write", n)
			}
		})
	}
}

func ints(n int) *int { return &n }

// TestEngine_PolicyBounds: negative or overflowing counts of time are
// refused when written (item: overflow and negatives).
func TestEngine_PolicyBounds(t *testing.T) {
	const rule = "policy.rules[0]."
	staging := map[string]any{"cel": "environment.name == 'staging'"}
	wantRefused(t, []hostileRule{
		{"cooldown overflowing time.Duration", map[string]any{"versionCooldown": map[string]any{"intervalSeconds": 9_300_000_000}},
			rule + "versionCooldown.intervalSeconds"},
		{"negative cooldown", map[string]any{"versionCooldown": map[string]any{"intervalSeconds": -1}},
			rule + "versionCooldown.intervalSeconds"},
		{"soak over ten years", map[string]any{"environmentProgression": map[string]any{
			"dependsOnEnvironmentSelector": staging, "minimumSockTimeMinutes": 5_256_001}},
			rule + "environmentProgression.minimumSockTimeMinutes"},
		{"negative soak", map[string]any{"environmentProgression": map[string]any{
			"dependsOnEnvironmentSelector": staging, "minimumSockTimeMinutes": -5}},
			rule + "environmentProgression.minimumSockTimeMinutes"},
		{"negative soak, spelled as in English", map[string]any{"environmentProgression": map[string]any{
			"dependsOnEnvironmentSelector": staging, "minimumSoakTimeMinutes": -5}},
			rule + "environmentProgression.minimumSoakTimeMinutes"},
		{"maximum age over ten years", map[string]any{"environmentProgression": map[string]any{
			"dependsOnEnvironmentSelector": staging, "maximumAgeHours": 87_601}},
			rule + "environmentProgression.maximumAgeHours"},
		{"negative maximum age", map[string]any{"environmentProgression": map[string]any{
			"dependsOnEnvironmentSelector": staging, "maximumAgeHours": -1}},
			rule + "environmentProgression.maximumAgeHours"},
		{"window longer than ten years", map[string]any{"deploymentWindow": map[string]any{
			"rrule": "FREQ=DAILY", "durationMinutes": 200_000_000}},
			rule + "deploymentWindow.durationMinutes"},
		{"rollout interval overflowing", map[string]any{"gradualRollout": map[string]any{
			"rolloutType": "linear", "timeScaleInterval": 15_000_000_000}},
			rule + "gradualRollout.timeScaleInterval"},
		{"negative rollout interval", map[string]any{"gradualRollout": map[string]any{
			"rolloutType": "linear", "timeScaleInterval": -60}},
			rule + "gradualRollout.timeScaleInterval"},
		{"backoff overflowing", map[string]any{"retry": map[string]any{"maxRetries": 2, "backoffSeconds": 9_300_000_000}},
			rule + "retry.backoffSeconds"},
		{"negative backoff", map[string]any{"retry": map[string]any{"maxRetries": 2, "backoffSeconds": -1}},
			rule + "retry.backoffSeconds"},
		{"maximum backoff overflowing", map[string]any{"retry": map[string]any{"maxRetries": 2, "backoffSeconds": 1,
			"maxBackoffSeconds": 9_300_000_000}},
			rule + "retry.maxBackoffSeconds"},
		{"negative approvals", map[string]any{"anyApproval": map[string]any{"minApprovals": -1}},
			rule + "anyApproval.minApprovals"},
	})
}

// TestEngine_PolicyBounds_Limits: the largest values the bounds name are
// accepted.
func TestEngine_PolicyBounds_Limits(t *testing.T) {
	h := newHarness(t)
	t.Cleanup(h.eng.Close)
	staging := map[string]any{"cel": "environment.name == 'staging'"}
	h.must("policy.created", policyOf("limits", "true",
		map[string]any{"id": "a", "versionCooldown": map[string]any{"intervalSeconds": 315_360_000}},
		map[string]any{"id": "b", "environmentProgression": map[string]any{"dependsOnEnvironmentSelector": staging,
			"minimumSockTimeMinutes": 5_256_000, "maximumAgeHours": 87_600}},
		map[string]any{"id": "c", "gradualRollout": map[string]any{"rolloutType": "linear", "timeScaleInterval": 315_360_000}},
		map[string]any{"id": "d", "retry": map[string]any{"maxRetries": 1, "backoffSeconds": 315_360_000,
			"maxBackoffSeconds": 315_360_000}},
		map[string]any{"id": "e", "anyApproval": map[string]any{"minApprovals": 0}},
	))
}

func metricRule(metric map[string]any) map[string]any {
	m := map[string]any{"name": "health", "count": 3, "intervalSeconds": 60, "successCondition": "result.ok",
		"provider": map[string]any{"type": "http", "url": "https://svc.example/health"}}
	for k, v := range metric {
		m[k] = v
	}
	return map[string]any{"verification": map[string]any{"metrics": []any{m}}}
}

// TestEngine_VerificationMetricsRefused: a metric that could never be
// measured, or would be measured without end, is refused as invalid input
// naming the field, not answered as an internal error.
func TestEngine_VerificationMetricsRefused(t *testing.T) {
	const metric = "policy.rules[0].verification.metrics[0]."
	wantRefused(t, []hostileRule{
		{"unknown provider", metricRule(map[string]any{"provider": map[string]any{"type": "ftp"}}), metric + "provider.type"},
		{"file URL", metricRule(map[string]any{"provider": map[string]any{"type": "http", "url": "file:///etc/passwd"}}),
			metric + "provider.url"},
		{"missing URL", metricRule(map[string]any{"provider": map[string]any{"type": "http"}}), metric + "provider.url"},
		{"missing name", metricRule(map[string]any{"name": ""}), metric + "name"},
		{"condition that does not compile", metricRule(map[string]any{"successCondition": "result.ok &&"}),
			metric + "successCondition"},
		{"a billion measurements", metricRule(map[string]any{"count": 1_000_000_000}), metric + "count"},
		{"measurements back to back", metricRule(map[string]any{"intervalSeconds": 0}), metric + "intervalSeconds"},
		{"interval overflowing", metricRule(map[string]any{"intervalSeconds": 9_300_000_000}), metric + "intervalSeconds"},
	})
}
