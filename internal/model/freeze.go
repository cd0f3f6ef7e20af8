package model

import (
	"strings"
	"time"
)

// Freeze stops the line: while it is in force, no new job is created on
// the release targets its Selector (CEL over resource, deployment and
// environment) matches. Jobs already created are not touched. It is in
// force from its creation until it is deleted or, when Until is set, until
// that time.
type Freeze struct {
	ID          string  `json:"id"`
	WorkspaceID string  `json:"workspaceId"`
	Name        string  `json:"name,omitempty"`
	Selector    CELText `json:"selector"`
	// Reason says why the line is stopped; explanations quote it.
	Reason    string            `json:"reason"`
	Until     time.Time         `json:"until,omitzero"`
	CreatedBy string            `json:"createdBy,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// InForce reports whether the freeze holds jobs at now.
func (f *Freeze) InForce(now time.Time) bool { return f.Until.IsZero() || now.Before(f.Until) }

// Validate implements Validator.
func (f *Freeze) Validate() error {
	if err := firstErr(required("freeze.id", f.ID), required("freeze.reason", f.Reason)); err != nil {
		return err
	}
	if strings.TrimSpace(string(f.Selector)) == "" {
		return Invalid("freeze.selector", `is required; "true" freezes every release target`)
	}
	return nil
}
