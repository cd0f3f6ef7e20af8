package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// windowRule is a deployment window's recurrence, parsed once per
// evaluation: its options with every default rrule-go would take from
// DTSTART written out, and the true start they count from.
type windowRule struct {
	opt    rrule.ROption
	anchor time.Time // DTSTART, or windowAnchor when the rule has none
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

// parseWindowRule parses an RFC 5545 recurrence: an RRULE line (with or
// without the "RRULE:" prefix), optionally preceded by a DTSTART line, with
// local times read in loc.
func parseWindowRule(text string, loc *time.Location) (*windowRule, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	opt, err := rrule.StrToROptionInLocation(text, loc)
	if err != nil {
		return nil, err
	}
	w := &windowRule{opt: *opt, anchor: opt.Dtstart}
	if w.anchor.IsZero() {
		w.anchor = windowAnchor(loc)
	}
	w.anchor = w.anchor.Truncate(time.Second) // as rrule-go does
	w.opt.Dtstart = w.anchor
	w.opt.Interval = max(w.opt.Interval, 1)
	spellOutDefaults(&w.opt, w.anchor)
	if _, err := rrule.NewRRule(w.opt); err != nil { // bounds of the BY parts
		return nil, err
	}
	return w, nil
}

// spellOutDefaults writes into opt the parts rrule-go takes from DTSTART
// when a rule leaves them out (RFC 5545 §3.3.10: the month and day of a
// yearly rule, the day of a monthly one, the weekday of a weekly one, the
// time of day of anything coarser than hourly), exactly as rrule-go's
// buildRRule does. With them explicit, the recurrence may start from
// another anchor in the same phase without changing its occurrences.
func spellOutDefaults(opt *rrule.ROption, anchor time.Time) {
	if len(opt.Byweekno) == 0 && len(opt.Byyearday) == 0 && len(opt.Bymonthday) == 0 &&
		len(opt.Byweekday) == 0 && len(opt.Byeaster) == 0 {
		switch opt.Freq {
		case rrule.YEARLY:
			if len(opt.Bymonth) == 0 {
				opt.Bymonth = []int{int(anchor.Month())}
			}
			opt.Bymonthday = []int{anchor.Day()}
		case rrule.MONTHLY:
			opt.Bymonthday = []int{anchor.Day()}
		case rrule.WEEKLY:
			opt.Byweekday = []rrule.Weekday{weekdays[anchor.Weekday()]}
		}
	}
	if len(opt.Byhour) == 0 && opt.Freq < rrule.HOURLY {
		opt.Byhour = []int{anchor.Hour()}
	}
	if len(opt.Byminute) == 0 && opt.Freq < rrule.MINUTELY {
		opt.Byminute = []int{anchor.Minute()}
	}
	if len(opt.Bysecond) == 0 && opt.Freq < rrule.SECONDLY {
		opt.Bysecond = []int{anchor.Second()}
	}
}

// weekdays maps time.Weekday to rrule-go's weekdays.
var weekdays = [...]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}

// from returns the recurrence ready to iterate from notBefore on.
//
// rrule-go iterates from DTSTART, so a rule starting in 1970 would walk
// through half a century of occurrences on every evaluation (96 s for a
// secondly one). As only occurrences from notBefore on matter, the anchor is
// moved forward by whole recurrence periods to just before notBefore, which
// yields exactly the same occurrences from then on: the defaults that
// DTSTART implies are spelled out, and the moved anchor keeps its time of
// day, which sub-daily rules count from. COUNT counts from the true start,
// so rules with COUNT are not moved (their COUNT is bounded instead).
func (w *windowRule) from(notBefore time.Time) (*rrule.RRule, error) {
	opt := w.opt
	if opt.Count == 0 {
		opt.Dtstart = skipPeriods(opt.Freq, opt.Interval, w.anchor, notBefore.In(w.anchor.Location()))
	}
	return rrule.NewRRule(opt)
}

// skipPeriods returns anchor moved forward by whole periods of a recurrence
// of frequency freq and interval k (k years, k months, 7k days, k days, or
// for sub-daily frequencies the least whole number of days that is a
// multiple of k hours, minutes or seconds): for yearly and monthly ones to
// at least one period before t, for the others to the last period start
// not after t, so that a minutely rule is iterated from at most a day
// before t whatever the time of day.
// rrule-go counts in wall-clock fields, so whole-period steps keep every
// occurrence after the new anchor in phase with the original.
//
// A moved anchor keeps the anchor's time of day, and yearly and monthly
// ones move to the first of a month (rrule-go takes the whole year or month
// as one period, and the first exists in every month). In a zone whose
// clocks skip that time on the day reached, one period less is tried, and
// failing that (or when no step fits) the anchor stays where it is.
func skipPeriods(freq rrule.Frequency, k int, anchor, t time.Time) time.Time {
	ay, am, ad := anchor.Date()
	h, mi, s := anchor.Clock()
	ty, tm, td := t.Date()
	var n int                        // whole periods to skip
	var at func(n int) (y, m, d int) // the date n periods after the anchor's
	switch freq {
	case rrule.YEARLY:
		n = (ty-ay)/k - 1
		at = func(n int) (int, int, int) { return ay + n*k, int(am), 1 }
	case rrule.MONTHLY:
		n = ((ty-ay)*12+int(tm-am))/k - 1
		at = func(n int) (int, int, int) { return ay, int(am) + n*k, 1 }
	default:
		days := periodDays(freq, k)
		if days <= 0 {
			return anchor
		}
		elapsed := (time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC).Unix() -
			time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC).Unix()) / (24 * 60 * 60)
		n = int(elapsed) / days
		at = func(n int) (int, int, int) { return ay, int(am), ad + n*days }
	}
	// On t's own date the anchor's time of day may still be ahead of t
	// (one period less), or skipped by the clocks there (one more).
	for i := n; i > 0 && i >= n-2; i-- {
		y, m, d := at(i)
		moved := time.Date(y, time.Month(m), d, h, mi, s, 0, anchor.Location())
		if mh, mm, ms := moved.Clock(); mh == h && mm == mi && ms == s && !moved.After(t) {
			return moved
		}
	}
	return anchor
}

// latestInPeriod returns the last second of the period (see skipPeriods)
// holding t, for weekly, daily and sub-daily rules without COUNT; false for
// the others, which skip whole months or years and are cheap to iterate.
func (w *windowRule) latestInPeriod(t time.Time) (time.Time, bool) {
	days := periodDays(w.opt.Freq, w.opt.Interval)
	if w.opt.Count != 0 || days <= 0 {
		return time.Time{}, false
	}
	start := skipPeriods(w.opt.Freq, w.opt.Interval, w.anchor, t.In(w.anchor.Location()))
	y, m, d := start.Date()
	h, mi, s := start.Clock()
	return time.Date(y, m, d+days, h, mi, s, 0, start.Location()).Add(-time.Second), true
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
