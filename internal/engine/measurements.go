package engine

import (
	"cmp"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// measurementsOf returns each metric's measurements in order: those a
// verification's document holds (recorded before measurements had a table
// of their own), then its rows in sequence order.
func measurementsOf(r store.Reader, v *model.JobVerification) [][]model.VerificationMeasurement {
	out := make([][]model.VerificationMeasurement, len(v.Metrics))
	for i := range v.Metrics {
		out[i] = slices.Clone(v.Metrics[i].Measurements)
	}
	rows := store.MeasurementsByVerification.Get(r, v.ID)
	slices.SortFunc(rows, func(a, b *model.MeasurementRecord) int {
		return cmp.Or(cmp.Compare(a.MetricIndex, b.MetricIndex), cmp.Compare(a.Sequence, b.Sequence))
	})
	for _, m := range rows {
		if m.MetricIndex >= 0 && m.MetricIndex < len(out) {
			out[m.MetricIndex] = append(out[m.MetricIndex], m.VerificationMeasurement)
		}
	}
	return out
}

// VerificationView returns a verification as readers see it: a copy with
// each metric's measurements, in order, from the rows they are stored in.
// v is not changed.
func VerificationView(r store.Reader, v *model.JobVerification) *model.JobVerification {
	ms := measurementsOf(r, v)
	view := *v
	view.Metrics = slices.Clone(v.Metrics)
	for i := range view.Metrics {
		view.Metrics[i].Measurements = ms[i]
	}
	return &view
}

// JobVerifications returns a job's verifications as readers see them (see
// VerificationView), in id order.
func JobVerifications(r store.Reader, jobID string) []*model.JobVerification {
	vs := store.VerificationsByJob.Get(r, jobID)
	out := make([]*model.JobVerification, len(vs))
	for i, v := range vs {
		out[i] = VerificationView(r, v)
	}
	return out
}
