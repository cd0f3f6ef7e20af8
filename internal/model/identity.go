package model

import (
	"strconv"
	"strings"
)

// Caller is who sent an event, as the API's authentication established it
// from a named token. Events without one (no authentication configured,
// the anonymous admin token, the engine's own work) carry none.
type Caller struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups,omitempty"`
}

func (r *AnyApprovalRule) validate(field string) error {
	if r.MinApprovals < 0 {
		return Invalid(field+".minApprovals", "must not be negative")
	}
	seen := map[string]bool{}
	for i, g := range r.FromGroups {
		at := field + ".fromGroups[" + strconv.Itoa(i) + "]"
		switch {
		case strings.TrimSpace(g.Group) == "":
			return Invalid(at+".group", "is required")
		case seen[g.Group]:
			return Invalid(at+".group", "%q is listed twice", g.Group)
		case g.MinApprovals < 0:
			return Invalid(at+".minApprovals", "must not be negative")
		}
		seen[g.Group] = true
	}
	return nil
}
