package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
	"github.com/gatehouse-dev/gatehouse/internal/verification"
)

// measureFor takes one measurement of metric i of v, its templates
// rendered over the verified job's dispatch context first. Sensitive
// variables are opened for the rendering, as for an agent, and their clear
// text is cut out of what the measurement keeps (a URL in an error, a body
// that echoes a header). A template that does not render fails the
// measurement, saying why.
func (e *Engine) measureFor(ctx context.Context, ws *Workspace, v *model.JobVerification, i int) model.VerificationMeasurement {
	metric := &v.Metrics[i].VerificationMetric
	data, secrets, err := e.dispatchData(ws, v.JobID)
	if err == nil {
		metric, err = verification.Render(metric, data)
	}
	if err != nil {
		return model.VerificationMeasurement{Status: model.MeasurementFailed, MeasuredAt: e.cfg.Clock().UTC(),
			Message: verification.KeptMessage(redact(err.Error(), secrets).(string))}
	}
	m := e.measure(ctx, metric)
	if len(secrets) > 0 {
		m.Message = redact(m.Message, secrets).(string)
		if m.Data != nil {
			m.Data = redact(m.Data, secrets).(map[string]any)
		}
	}
	return m
}

// dispatchData is what a verified job's templates see: its dispatch
// context, sensitive variables opened; secrets are their clear texts.
func (e *Engine) dispatchData(ws *Workspace, jobID string) (*templating.Data, []string, error) {
	j, err := store.Jobs.Get(ws.Store().Snapshot(), jobID)
	if err != nil {
		return templating.FromContext(jobID, nil, map[string]any{}), nil, nil
	}
	vars := map[string]any{}
	var secrets []string
	if dc := j.DispatchContext; dc != nil {
		for k, val := range dc.Variables {
			clear, sealed, err := e.openSealed(val.V)
			switch {
			case !sealed:
				vars[k] = val.V
				continue
			case errors.Is(err, errNoEncryptionKey):
				return nil, nil, fmt.Errorf("variables.%s is sensitive and no encryption key is configured to open it", k)
			case err != nil:
				return nil, nil, fmt.Errorf("variables.%s: the sensitive value does not open", k)
			}
			vars[k] = clear
			if clear != "" {
				secrets = append(secrets, clear)
			}
		}
	}
	return templating.FromContext(j.ID, j.DispatchContext, vars), secrets, nil
}

// redactedText stands in for a sensitive value in what a measurement keeps.
const redactedText = "[sensitive]"

// redact returns v (a string, or a JSON value holding strings) with every
// secret in its strings replaced.
func redact(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		for _, s := range secrets {
			x = strings.ReplaceAll(x, s, redactedText)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redact(e, secrets)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e, secrets)
		}
		return out
	}
	return v
}
