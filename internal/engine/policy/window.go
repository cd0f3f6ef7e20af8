package policy

import (
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// evalDeploymentWindow gates deployments by recurring windows (see SPEC §4).
// Each occurrence of the rrule, evaluated in the rule's timezone, opens a
// window [start, start+durationMinutes). An allow window allows inside and
// waits for the next opening outside; a deny window waits for the end inside
// and allows outside, with the next deny window's start as the next
// evaluation time so the scheduler looks again when it begins. Windows that
// overlap or touch count as one.
//
// The rule is ignored for a target that has never been deployed, so a new
// target is never kept empty by a window. An invalid rrule or timezone
// denies, naming the error; so does a rule that never occurs or would take
// more than windowStepLimit occurrences to evaluate (one that a database
// written before these were refused may hold), which is answered at once.
func evalDeploymentWindow(in *Input, rule *model.PolicyRule) Result {
	w := rule.DeploymentWindow
	if history.CurrentRelease(in.Reader, in.Target.Key()) == nil {
		return Allow(rule, KindDeploymentWindow,
			"deployment window ignored: nothing has been deployed to this target yet")
	}
	// Every target of the round sees the same windows at the same time.
	key := fmt.Sprintf("window/%s/%s/%d/%s/%d", w.RRule, w.Timezone, w.DurationMinutes, rule.ID, in.Now.UnixNano())
	scan := memoized(in.Memo, key, func() windowResult { return evalWindowScan(w, in.Now) })
	if scan.err != "" {
		return Deny(rule, KindDeploymentWindow, scan.err)
	}
	s, loc := scan.scan, scan.loc
	details := map[string]any{"timezone": loc.String(), "inside": s.inside}
	if s.inside {
		details["windowStart"], details["windowEnd"] = s.start.UTC(), s.end.UTC()
	}
	if !s.next.IsZero() {
		details["nextWindowStart"] = s.next.UTC()
	}

	var r Result
	allowWindow := w.AllowWindow == nil || *w.AllowWindow
	switch {
	case allowWindow && s.inside:
		r = Allow(rule, KindDeploymentWindow, "inside the deployment window until "+clockTime(s.end, in.Now)).
			Satisfied(s.start)
	case allowWindow && s.next.IsZero():
		// Waiting cannot help: the recurrence has ended (UNTIL or COUNT).
		r = Deny(rule, KindDeploymentWindow, "outside the deployment window, and the rrule has no further occurrences")
	case allowWindow:
		r = Pending(rule, KindDeploymentWindow, ActionWait,
			"outside the deployment window; it opens at "+clockTime(s.next, in.Now)).At(s.next)
	case s.inside:
		r = Pending(rule, KindDeploymentWindow, ActionWait,
			"inside a deny window until "+clockTime(s.end, in.Now)).At(s.end)
	case s.next.IsZero():
		r = Allow(rule, KindDeploymentWindow, "outside any deny window")
	default:
		r = Allow(rule, KindDeploymentWindow,
			"outside any deny window; the next one starts at "+clockTime(s.next, in.Now)).At(s.next)
	}
	r.Details = details
	return r
}

// windowResult is a scan of a rule's windows around one instant, or why the
// rule cannot be scanned.
type windowResult struct {
	scan windowScan
	loc  *time.Location
	err  string
}

func evalWindowScan(w *model.DeploymentWindowRule, now time.Time) windowResult {
	loc, err := windowLocation(w.Timezone)
	if err != nil {
		return windowResult{err: err.Error()}
	}
	duration := model.DurationOf(int64(w.DurationMinutes), time.Minute)
	if duration <= 0 {
		return windowResult{err: "durationMinutes must be at least 1"}
	}
	rule, err := parseWindowRule(w.RRule, loc)
	if err != nil {
		return windowResult{err: fmt.Sprintf("invalid rrule %q: %v", w.RRule, err)}
	}
	scan, err := rule.scan(now, duration, windowStepLimit)
	if err != nil {
		return windowResult{err: fmt.Sprintf("deployment window %q not evaluated: %v", w.RRule, err)}
	}
	return windowResult{scan: scan, loc: loc}
}

// windowScan is where now stands among a rule's windows.
type windowScan struct {
	inside bool
	start  time.Time // the latest occurrence at or before now, when its window holds now
	end    time.Time // its end, pushed out by later windows that overlap or touch it
	next   time.Time // the first occurrence starting after now (after end when inside); zero if none
}

// scanWindows walks the occurrences once, up to the first one after now (or
// after the current window). Only the latest occurrence at or before now can
// hold now, since all windows have the same duration.
func scanWindows(it *steps, now time.Time, duration time.Duration) windowScan {
	var last time.Time
	t, ok := it.step()
	for ok && !t.After(now) {
		last = t
		t, ok = it.step()
	}
	var s windowScan
	if !last.IsZero() && now.Before(last.Add(duration)) {
		s.inside, s.start, s.end = true, last, last.Add(duration)
		for i := 0; ok && !t.After(s.end) && i < windowMergeLimit; i++ {
			s.end = t.Add(duration)
			t, ok = it.step()
		}
	}
	if ok {
		s.next = t
	}
	return s
}
