package verification

import (
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// ValidateMetric checks a metric at write time so a bad metric is refused
// when the policy is saved, not discovered after a deployment: name, count
// ≥ 1, interval ≥ 0, thresholds in range, conditions compile, provider type
// known with its required fields present and well-formed. Each error names
// its field under the given prefix (e.g. "metrics[0].provider.url: is
// required"); all problems are reported together.
func ValidateMetric(m *model.VerificationMetric, field string) error {
	at := func(sub string) string {
		if field == "" {
			return sub
		}
		return field + "." + sub
	}
	var errs []error
	bad := func(sub, format string, args ...any) {
		errs = append(errs, model.Invalid(at(sub), format, args...))
	}
	if m == nil {
		return model.Invalid(field, "is required")
	}
	if strings.TrimSpace(m.Name) == "" {
		bad("name", "is required")
	}
	if m.Count < 1 {
		bad("count", "must be at least 1")
	}
	if m.IntervalSeconds < 0 {
		bad("intervalSeconds", "must not be negative")
	}
	if m.FailureThreshold < 0 {
		bad("failureThreshold", "must not be negative")
	}
	if t := m.SuccessThreshold; t != nil && (*t < 1 || (m.Count >= 1 && *t > m.Count)) {
		bad("successThreshold", "must be between 1 and count (%d)", m.Count)
	}
	if strings.TrimSpace(m.SuccessCondition) == "" {
		bad("successCondition", "is required")
	} else if _, err := resultEnv().CompileCEL(m.SuccessCondition); err != nil {
		bad("successCondition", "%v", err)
	}
	if strings.TrimSpace(m.FailureCondition) != "" {
		if _, err := resultEnv().CompileCEL(m.FailureCondition); err != nil {
			bad("failureCondition", "%v", err)
		}
	}
	r := &specReader{m: m.Provider, prefix: at("provider")}
	buildProvider(r, Deps{})
	errs = append(errs, r.errs...)
	return errors.Join(errs...)
}
