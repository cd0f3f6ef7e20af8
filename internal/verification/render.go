package verification

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// Render returns the metric for one measurement: every string of its
// provider, and its conditions, rendered as Go templates over data (the
// verified job's dispatch context: {{.Resource.Metadata.region}},
// {{.Variables.threshold}}). Strings without a template are kept as they
// are; the stored metric keeps its templates. An error names the field.
func Render(m *model.VerificationMetric, data *templating.Data) (*model.VerificationMetric, error) {
	out := *m
	if m.Provider != nil {
		p, err := templating.Render(m.Provider, data)
		if err != nil {
			return nil, fmt.Errorf("provider.%w", err)
		}
		out.Provider = p
	}
	var err error
	if out.SuccessCondition, err = templating.String(m.SuccessCondition, data); err != nil {
		return nil, fmt.Errorf("successCondition: %w", err)
	}
	if out.FailureCondition, err = templating.String(m.FailureCondition, data); err != nil {
		return nil, fmt.Errorf("failureCondition: %w", err)
	}
	return &out, nil
}
