package verification

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name      string
		success   string
		failure   string
		result    map[string]any
		want      string
		wantInMsg string
	}{
		{"success", "result.ok && result.statusCode == 200", "", map[string]any{"ok": true, "statusCode": int64(200)}, StatusPassed, "met"},
		{"float compared to int literal", "result.value < 1", "", map[string]any{"value": 0.5}, StatusPassed, ""},
		{"no failure condition means failed", "result.value < 1", "", map[string]any{"value": 5.0}, StatusFailed, "not met"},
		{"failure condition met", "result.value < 1", "result.value > 10", map[string]any{"value": 50.0}, StatusFailed, "failureCondition met"},
		{"inconclusive", "result.value < 1", "result.value > 10", map[string]any{"value": 5.0}, StatusInconclusive, "neither"},
		{"missing key is not success", "result.value < 1", "", map[string]any{}, StatusFailed, "not met"},
		{"nested json", "result.json.status == 'up'", "", map[string]any{"json": map[string]any{"status": "up"}}, StatusPassed, ""},
		{"compile error", "result.value <", "", map[string]any{"value": 1.0}, StatusFailed, "successCondition: selector.cel"},
		{"evaluation error", "result.value / 0 > 1", "", map[string]any{"value": int64(1)}, StatusFailed, "successCondition: selector: evaluate"},
		{"non-bool", "result.value", "", map[string]any{"value": 1.0}, StatusFailed, "successCondition"},
		{"failure condition error", "false", "result.x +", map[string]any{}, StatusFailed, "failureCondition:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &model.VerificationMetric{SuccessCondition: tc.success, FailureCondition: tc.failure}
			got, msg := Judge(m, tc.result)
			if got != tc.want || !strings.Contains(msg, tc.wantInMsg) {
				t.Fatalf("Judge = %q, %q; want %q containing %q", got, msg, tc.want, tc.wantInMsg)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	p, f, i := StatusPassed, StatusFailed, StatusInconclusive
	three := 3
	tests := []struct {
		name         string
		count        int
		successThr   *int
		failureThr   int
		statuses     []string
		done, passed bool
	}{
		{"nothing yet", 5, nil, 0, nil, false, false},
		{"all passed, default threshold", 3, nil, 0, []string{p, p, p}, true, true},
		{"partway", 3, nil, 0, []string{p, p}, false, false},
		{"count exhausted with a failure", 3, nil, 0, []string{p, f, p}, true, false},
		{"success threshold reached early", 10, &three, 0, []string{p, f, p, i, p}, true, true},
		{"consecutive failures stop", 10, nil, 2, []string{p, f, f}, true, false},
		{"non-consecutive failures continue", 10, &three, 2, []string{f, p, f, i, f}, false, false},
		{"inconclusive counts toward count", 2, nil, 0, []string{i, i}, true, false},
		{"threshold not reached by count", 4, &three, 0, []string{p, f, p, f}, true, false},
		{"statuses after decision ignored", 2, nil, 1, []string{f, p, p}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &model.VerificationMetric{Count: tc.count, SuccessThreshold: tc.successThr, FailureThreshold: tc.failureThr}
			done, passed := Outcome(m, tc.statuses)
			if done != tc.done || passed != tc.passed {
				t.Fatalf("Outcome = %v, %v; want %v, %v", done, passed, tc.done, tc.passed)
			}
		})
	}
}
