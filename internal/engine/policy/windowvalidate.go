package policy

import (
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// ValidateWindow checks a deployment window when its policy is written at
// now, so that a broken or costly window is refused instead of denying
// every version, or holding the workspace, later. It returns an EINVALID
// *model.Error naming the field under prefix (such as
// "policy.rules[0].deploymentWindow"): an unknown timezone; a duration
// under a minute or over model.MaxRuleSpan; a recurrence
// that does not parse, has a COUNT over windowMaxCount, never occurs, or
// has no occurrence from now on; more occurrences starting inside one
// window than it has minutes; or an evaluation, now or at its next window,
// of more than windowWriteSteps occurrences.
func ValidateWindow(prefix string, w *model.DeploymentWindowRule, now time.Time) error {
	loc, err := windowLocation(w.Timezone)
	if err != nil {
		return model.Invalid(prefix+".timezone", "%v", err)
	}
	if err := model.CheckSpan(prefix+".durationMinutes", w.DurationMinutes, time.Minute, 1); err != nil {
		return err
	}
	duration := model.DurationOf(int64(w.DurationMinutes), time.Minute)
	field := prefix + ".rrule"
	rule, err := parseWindowRule(w.RRule, loc)
	if err != nil {
		return model.Invalid(field, "invalid rrule: %v", err)
	}
	if rule.opt.Count > windowMaxCount {
		return model.Invalid(field, "COUNT must be at most %d: a rule with COUNT is evaluated from its first occurrence",
			windowMaxCount)
	}
	s, err := rule.scan(now, duration, windowWriteSteps)
	if err != nil {
		return windowInvalid(field, err)
	}
	if !s.inside && s.next.IsZero() {
		return model.Invalid(field, "has no occurrence from now on")
	}
	// The window holding now, else the next one: its density, and what
	// evaluating inside it costs (merging windows that overlap).
	start := s.start
	if !s.inside {
		start = s.next
	}
	most := windowMaxPerMinute * w.DurationMinutes
	n, err := rule.perWindow(start, duration, most, windowWriteSteps)
	if err != nil {
		return windowInvalid(field, err)
	}
	if n > most {
		return model.Invalid(field, "more than %d occurrences start within one window of %d minutes (from %s), "+
			"more than one a minute; write one longer window instead", most, w.DurationMinutes, start.UTC().Format(time.RFC3339))
	}
	if _, err := rule.scan(start, duration, windowWriteSteps); err != nil {
		return windowInvalid(field, err)
	}
	// An evaluation starts at the last period start before its look-back,
	// so it costs more the later in the period it runs: charge the latest
	// moment of this one, so that what is accepted does not depend on the
	// time of day it was written at.
	if worst, ok := rule.latestInPeriod(now.Add(-duration)); ok {
		if _, err := rule.scan(worst.Add(duration), duration, windowWriteSteps); err != nil {
			return windowInvalid(field, err)
		}
	}
	return nil
}

func windowInvalid(field string, err error) error {
	if errors.Is(err, errWindowCostly) {
		return model.Invalid(field, "%v per evaluation, at most %d are allowed; use a coarser FREQ, "+
			"a larger INTERVAL or a smaller COUNT", err, windowWriteSteps)
	}
	return model.Invalid(field, "%v", err)
}
