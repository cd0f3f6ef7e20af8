package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// windowMergeLimit bounds how many back-to-back occurrences are merged into
// one window. A rule whose windows overlap forever (FREQ=MINUTELY with a
// one-hour duration) would otherwise never end; past the limit the window is
// reported as ending there and simply re-evaluated then.
const windowMergeLimit = 1000

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
// denies, naming the error.
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
	rr, err := windowRecurrence(w.RRule, loc, now.Add(-duration))
	if err != nil {
		return windowResult{err: fmt.Sprintf("invalid rrule %q: %v", w.RRule, err)}
	}
	return windowResult{scan: scanWindows(rr, now, duration), loc: loc}
}

// windowLocation loads the rule's timezone; empty means UTC. "Local" is
// refused because the answer must not depend on the host the engine runs on.
func windowLocation(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("invalid timezone %q: name an IANA zone", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("invalid timezone %q: %w", name, err)
	}
	return loc, nil
}

// windowAnchor is where a recurrence without DTSTART starts: midnight of
// 2000-01-01 in the rule's timezone. A fixed anchor, rather than when the
// rule was created, gives every rule the same meaning whenever and however
// often its policy is rewritten (weekly rules without BYDAY fall on
// Saturdays, INTERVAL=2 keeps its phase, parts missing from the rule such as
// BYHOUR default to midnight). Being a local wall-clock time, it makes
// rrule-go generate occurrences in local time, so a daily 09:00 window stays
// at 09:00 local across DST changes.
func windowAnchor(loc *time.Location) time.Time { return time.Date(2000, 1, 1, 0, 0, 0, 0, loc) }

// windowRecurrence parses an RFC 5545 recurrence: an RRULE line (with or
// without the "RRULE:" prefix), optionally preceded by a DTSTART line, with
// local times read in loc. Without DTSTART it starts at windowAnchor.
//
// rrule-go iterates from DTSTART, so a rule anchored in 2000 would walk
// through a quarter of a century of occurrences on every evaluation (about
// 3ms for a daily rule, 150ms for an hourly one). As only occurrences from
// notBefore on matter, the anchor is moved forward by whole recurrence
// periods to just before notBefore, which yields exactly the same
// occurrences from then on. COUNT counts from the true start, so rules with
// COUNT, and rules with an explicit DTSTART, are not moved.
func windowRecurrence(text string, loc *time.Location, notBefore time.Time) (*rrule.RRule, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	opt, err := rrule.StrToROptionInLocation(text, loc)
	if err != nil {
		return nil, err
	}
	if opt.Dtstart.IsZero() {
		opt.Dtstart = windowAnchor(loc)
		if opt.Count == 0 {
			opt.Dtstart = skipPeriods(opt.Freq, max(opt.Interval, 1), opt.Dtstart, notBefore.In(loc))
		}
	}
	return rrule.NewRRule(*opt)
}

// skipPeriods returns anchor moved forward by whole periods of a recurrence
// of frequency freq and interval k (k years, k months, 7k days, k days, or
// for sub-daily frequencies the least whole number of days that is a
// multiple of k hours, minutes or seconds) to at least one period before t.
// rrule-go counts in wall-clock fields, so whole-period steps keep every
// occurrence after the new anchor in phase with the original.
//
// A moved anchor must be midnight, as rrule-go takes a missing BYHOUR,
// BYMINUTE or BYSECOND from the anchor's clock; in a zone whose clocks skip
// midnight on that date one period less is tried, and failing that (or when
// no step fits) the anchor stays where it is.
func skipPeriods(freq rrule.Frequency, k int, anchor, t time.Time) time.Time {
	ay, am, ad := anchor.Date()
	ty, tm, td := t.Date()
	var n int                        // whole periods to skip
	var at func(n int) (y, m, d int) // the date n periods after the anchor's
	switch freq {
	case rrule.YEARLY:
		n = (ty-ay)/k - 1
		at = func(n int) (int, int, int) { return ay + n*k, int(am), ad }
	case rrule.MONTHLY:
		n = ((ty-ay)*12+int(tm-am))/k - 1
		at = func(n int) (int, int, int) { return ay, int(am) + n*k, ad }
	default:
		days := periodDays(freq, k)
		if days <= 0 {
			return anchor
		}
		elapsed := (time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC).Unix() -
			time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC).Unix()) / (24 * 60 * 60)
		n = int(elapsed)/days - 1
		at = func(n int) (int, int, int) { return ay, int(am), ad + n*days }
	}
	for i := n; i > 0 && i >= n-1; i-- {
		y, m, d := at(i)
		moved := time.Date(y, time.Month(m), d, 0, 0, 0, 0, anchor.Location())
		if h, mi, s := moved.Clock(); h == 0 && mi == 0 && s == 0 {
			return moved
		}
	}
	return anchor
}

// periodDays is the length in days of one whole period of a weekly, daily or
// sub-daily recurrence with interval k: the least number of days holding a
// whole number of intervals.
func periodDays(freq rrule.Frequency, k int) int {
	switch freq {
	case rrule.WEEKLY:
		return 7 * k
	case rrule.DAILY:
		return k
	case rrule.HOURLY:
		return k / gcd(k, 24)
	case rrule.MINUTELY:
		return k / gcd(k, 24*60)
	case rrule.SECONDLY:
		return k / gcd(k, 24*60*60)
	}
	return 0
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// windowScan is where now stands among a rule's windows.
type windowScan struct {
	inside bool
	start  time.Time // the latest occurrence at or before now, when its window holds now
	end    time.Time // its end, pushed out by later windows that overlap or touch it
	next   time.Time // the first occurrence starting after now (after end when inside); zero if none
}

// scanWindows walks the occurrences of rr once, up to the first one after
// now (or after the current window). Only the latest occurrence at or before
// now can hold now, since all windows have the same duration.
func scanWindows(rr *rrule.RRule, now time.Time, duration time.Duration) windowScan {
	next := rr.Iterator()
	var last time.Time
	t, ok := next()
	for ok && !t.After(now) {
		last = t
		t, ok = next()
	}
	var s windowScan
	if !last.IsZero() && now.Before(last.Add(duration)) {
		s.inside, s.start, s.end = true, last, last.Add(duration)
		for i := 0; ok && !t.After(s.end) && i < windowMergeLimit; i++ {
			s.end = t.Add(duration)
			t, ok = next()
		}
	}
	if ok {
		s.next = t
	}
	return s
}

// ValidateWindow checks a deployment window's recurrence and timezone, so
// that a policy with a broken window is refused when it is written instead of
// denying every version later.
func ValidateWindow(w *model.DeploymentWindowRule) error {
	loc, err := windowLocation(w.Timezone)
	if err != nil {
		return err
	}
	if _, err := windowRecurrence(w.RRule, loc, windowAnchor(loc)); err != nil {
		return fmt.Errorf("invalid rrule: %w", err)
	}
	return nil
}
