package verification

import (
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// conditionCostLimit bounds one evaluation of a metric condition. A
// condition runs once per measurement, not once per entity as selectors do,
// and a provider's result can be large (an HTTP body, a Prometheus range), so
// it may cost far more than a selector: this much is about a quarter of a
// second at worst.
const conditionCostLimit = 1_000_000

// resultEnv is the CEL environment of metric conditions, where result is an
// open map; shared so compiled conditions are cached across measurements.
var resultEnv = sync.OnceValue(func() *selector.Env {
	return selector.MustNewEnvConfig(selector.Config{Vars: []string{"result"}, CostLimit: conditionCostLimit})
})

// evalCondition evaluates a condition over result. A key missing from
// result makes the condition false rather than an error, so a query that
// returned no data fails the success condition instead of erroring.
func evalCondition(expr string, result map[string]any) (bool, error) {
	m, err := resultEnv().CompileCEL(expr)
	if err != nil {
		return false, err
	}
	if result == nil {
		result = map[string]any{}
	}
	return m.MatchErr(map[string]any{"result": result})
}

// Judge evaluates one measurement's result against the metric's conditions:
// successCondition true → passed; else failureCondition (when set) true →
// failed and false → inconclusive; without a failureCondition, not success
// → failed. A CEL error (compile or evaluation) → failed with its message,
// because a broken condition must never let a release through.
func Judge(m *model.VerificationMetric, result map[string]any) (status string, message string) {
	ok, err := evalCondition(m.SuccessCondition, result)
	if err != nil {
		return StatusFailed, "successCondition: " + err.Error()
	}
	if ok {
		return StatusPassed, "successCondition met"
	}
	if strings.TrimSpace(m.FailureCondition) == "" {
		return StatusFailed, "successCondition not met"
	}
	bad, err := evalCondition(m.FailureCondition, result)
	if err != nil {
		return StatusFailed, "failureCondition: " + err.Error()
	}
	if bad {
		return StatusFailed, "failureCondition met"
	}
	return StatusInconclusive, "neither successCondition nor failureCondition met"
}

// successThreshold is the number of passed measurements a metric needs:
// successThreshold when set (≥1), else count, i.e. every measurement.
func successThreshold(m *model.VerificationMetric) int {
	n := m.Count
	if m.SuccessThreshold != nil && *m.SuccessThreshold > 0 {
		n = *m.SuccessThreshold
	}
	return max(n, 1)
}

// Outcome says whether a metric is finished given its measurement statuses
// so far, in order. It is failed as soon as FailureThreshold (>0)
// consecutive measurements failed (an inconclusive or passed one breaks the
// run), passed as soon as the passed count reaches the success threshold
// (default Count), and failed once Count measurements are done without
// reaching it; otherwise not done. Statuses after the deciding one are
// ignored, so a caller that over-measured gets the same answer.
func Outcome(m *model.VerificationMetric, statuses []string) (done bool, passed bool) {
	need := successThreshold(m)
	nPassed, consecutive := 0, 0
	for i, s := range statuses {
		switch s {
		case StatusPassed:
			nPassed++
			consecutive = 0
		case StatusFailed:
			consecutive++
		default:
			consecutive = 0
		}
		if m.FailureThreshold > 0 && consecutive >= m.FailureThreshold {
			return true, false
		}
		if nPassed >= need {
			return true, true
		}
		if m.Count > 0 && i+1 >= m.Count {
			return true, false
		}
	}
	return false, false
}
