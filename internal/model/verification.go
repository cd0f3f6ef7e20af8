package model

import (
	"strconv"
	"time"
)

// Verification statuses.
const (
	VerificationRunning   = "running"
	VerificationPassed    = "passed"
	VerificationFailed    = "failed"
	VerificationCancelled = "cancelled"
)

// Measurement statuses.
const (
	MeasurementPassed       = "passed"
	MeasurementFailed       = "failed"
	MeasurementInconclusive = "inconclusive"
)

// VerificationMeasurement is one measurement of one metric.
type VerificationMeasurement struct {
	Status     string         `json:"status"`
	MeasuredAt time.Time      `json:"measuredAt"`
	Message    string         `json:"message,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
}

// VerificationMetricStatus is a metric of a verification with its
// measurements so far.
type VerificationMetricStatus struct {
	VerificationMetric
	Measurements []VerificationMeasurement `json:"measurements"`
}

// JobVerification measures a job's metrics to decide whether its deployment
// worked. A successful job whose verification failed (or is still running)
// is not its target's current release.
type JobVerification struct {
	ID        string                     `json:"id"`
	JobID     string                     `json:"jobId"`
	RuleID    string                     `json:"ruleId"`
	Status    string                     `json:"status"`
	Message   string                     `json:"message,omitempty"`
	Metrics   []VerificationMetricStatus `json:"metrics"`
	CreatedAt time.Time                  `json:"createdAt"`
}

// MeasurementRecord is one measurement of one metric of a verification,
// stored as a row of its own so that a verification's document does not
// grow with its measurements. Sequence counts from 0 within the metric.
type MeasurementRecord struct {
	VerificationID string `json:"verificationId"`
	MetricIndex    int    `json:"metricIndex"`
	Sequence       int    `json:"sequence"`
	VerificationMeasurement
}

// Key returns the record's identity: "verificationId/metricIndex/sequence".
func (m *MeasurementRecord) Key() string {
	return m.VerificationID + "/" + strconv.Itoa(m.MetricIndex) + "/" + strconv.Itoa(m.Sequence)
}
