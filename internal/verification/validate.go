package verification

import (
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// MaxCount bounds a metric's count: every measurement is stored, so a
// count of a billion would grow the database without end.
const MaxCount = 1000

// ValidateMetric checks a metric at write time so a bad metric is refused
// when the policy is saved, not discovered after a deployment: name, count
// between 1 and MaxCount, an interval between 0 and model.MaxRuleSpan (at
// least 1 s when count > 1, so that measurements do not follow each other
// without pause), thresholds in range, conditions compile, provider type
// known with its required fields present and well-formed. It returns an
// EINVALID *model.Error naming each offending field under the given prefix
// (e.g. "metrics[0].provider.url: is required"), all problems together.
func ValidateMetric(m *model.VerificationMetric, field string) error {
	at := func(sub string) string {
		if field == "" {
			return sub
		}
		return field + "." + sub
	}
	if m == nil {
		return model.Invalid(field, "is required")
	}
	var errs []*model.Error
	bad := func(sub, format string, args ...any) { errs = append(errs, model.Invalid(at(sub), format, args...)) }
	if strings.TrimSpace(m.Name) == "" {
		bad("name", "is required")
	}
	if m.Count < 1 || m.Count > MaxCount {
		bad("count", "must be between 1 and %d", MaxCount)
	}
	if err := model.CheckSpan(at("intervalSeconds"), m.IntervalSeconds, time.Second, 0); err != nil {
		errs = append(errs, err.(*model.Error))
	} else if m.Count > 1 && m.IntervalSeconds < 1 {
		bad("intervalSeconds", "must be at least 1 when count is more than 1")
	}
	if m.FailureThreshold < 0 {
		bad("failureThreshold", "must not be negative")
	}
	if t := m.SuccessThreshold; t != nil && (*t < 1 || (m.Count >= 1 && *t > m.Count)) {
		bad("successThreshold", "must be between 1 and count (%d)", m.Count)
	}
	// A templated condition is CEL only once rendered: its template is
	// checked now, its CEL when it is measured.
	condition := func(key, expr string) {
		if isTemplate(expr) {
			if err := templating.ValidateString(at(key), expr); err != nil {
				errs = append(errs, fieldError(at(key), err))
			}
			return
		}
		if _, err := resultEnv().CompileCEL(expr); err != nil {
			bad(key, "%v", err)
		}
	}
	if strings.TrimSpace(m.SuccessCondition) == "" {
		bad("successCondition", "is required")
	} else {
		condition("successCondition", m.SuccessCondition)
	}
	if strings.TrimSpace(m.FailureCondition) != "" {
		condition("failureCondition", m.FailureCondition)
	}
	if err := templating.Validate(at("provider"), m.Provider); err != nil {
		errs = append(errs, fieldError(at("provider"), err))
	}
	r := &specReader{m: m.Provider, prefix: at("provider"), deferTemplates: true}
	buildProvider(r, Deps{})
	return invalid(append(errs, r.errs...))
}

// fieldError is err as the field error templating returns, or one naming
// field.
func fieldError(field string, err error) *model.Error {
	var e *model.Error
	if errors.As(err, &e) {
		return e
	}
	return model.Invalid(field, "%v", err)
}
