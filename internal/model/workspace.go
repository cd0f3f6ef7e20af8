package model

import "time"

// Workspace is a tenant: every other entity belongs to exactly one. It is
// created by the first event addressed to it.
type Workspace struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
}

// ProcessedEvent records an event id already applied, so that a redelivered
// event changes nothing.
type ProcessedEvent struct {
	ID        string `json:"id"`
	EventType string `json:"eventType"`
	// PayloadHash identifies the event's content, so that an id reused for
	// another event is told apart from a redelivery.
	PayloadHash string    `json:"payloadHash,omitempty"`
	ProcessedAt time.Time `json:"processedAt"`
}

// TargetState is what the engine last decided for a release target: its
// desired release, why it has no new job, and when it must look again. It is
// derived, recomputed on every evaluation and after a restart.
type TargetState struct {
	Key              string
	DesiredReleaseID string
	Reason           string
	NextEvaluation   time.Time
	// WaitingOn lists the rule kinds that held back a version newer than the
	// desired one (or any version, when none is desired); outside events
	// that can satisfy those kinds re-evaluate exactly these targets.
	WaitingOn []string
	// AwaitingApproval are the versions held back by an approval rule (a
	// subset of those WaitingOn counts), for the pending approvals metric.
	AwaitingApproval []string
	// ResourceID and DeploymentID are the target's, for the indexes.
	ResourceID, DeploymentID string
}
