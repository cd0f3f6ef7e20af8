package policy

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Helpers that put entities and times into the words of rule messages, one
// way for every rule.

// nameOfVersion names a version: its tag, else its name, else its id.
func nameOfVersion(v *model.DeploymentVersion) string {
	switch {
	case v.Tag != "":
		return v.Tag
	case v.Name != "":
		return v.Name
	}
	return v.ID
}

// environmentName names an environment: its name, else its id.
func environmentName(e *model.Environment) string {
	if e.Name != "" {
		return e.Name
	}
	return e.ID
}

// ClockTime is clockTime, for readers that put the rules' times into words
// the way the rules' messages do (the console).
func ClockTime(t, now time.Time) string { return clockTime(t, now) }

// clockTime formats t as the time of day in UTC ("14:32 UTC", seconds only
// when not zero), with the date in front when t is not on now's UTC day, so
// it is never ambiguous.
func clockTime(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	layout := "15:04 UTC"
	if t.Second() != 0 {
		layout = "15:04:05 UTC"
	}
	if y, m, d := t.Date(); y != now.Year() || m != now.Month() || d != now.Day() {
		layout = "2006-01-02 " + layout
	}
	return t.Format(layout)
}
