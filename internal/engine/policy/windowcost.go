package policy

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/teambition/rrule-go"
)

// What one deployment window evaluation may cost. rrule-go does all its
// work inside its iterator, so the cost is counted in occurrences taken
// from it (steps, about 40–170 ns each); the two ways rrule-go can work
// without yielding an occurrence (a time of day it never reaches, a day it
// never finds) are ruled out before iterating, by reachableTimeOfDay and
// occursAtAll. See docs/decisions.md.
const (
	// windowStepLimit caps the steps of one evaluation; past it the rule
	// denies as too costly instead of holding the workspace's writer.
	windowStepLimit = 50_000
	// windowWriteSteps is what an evaluation of a rule being written may
	// cost, now and at its next window: a tenth of the limit, so that what
	// is accepted today stays well inside the limit as time moves on.
	windowWriteSteps = 5_000
	// windowMaxCount bounds COUNT, which makes evaluation walk from DTSTART.
	windowMaxCount = windowWriteSteps
	// windowMaxPerMinute bounds how many occurrences may start inside one
	// window, per minute of its duration: more than one a minute is one
	// long window written expensively (FREQ=SECONDLY with an hour's
	// duration is 3,600), while FREQ=MINUTELY with a day's windows, the way
	// ctrlplane users write "always open", stays accepted.
	windowMaxPerMinute = 1
	// windowMergeLimit bounds how many back-to-back occurrences are merged
	// into one window. A rule whose windows overlap forever (FREQ=MINUTELY
	// with a one-hour duration) would otherwise never end; past the limit
	// the window is reported as ending there and simply re-evaluated then.
	windowMergeLimit = 1000
)

// Why a window cannot be evaluated.
var (
	errWindowCostly = errors.New("the rrule is too costly to evaluate")
	errWindowNever  = errors.New("the rrule never produces an occurrence")
)

// steps is an occurrence iterator with a budget; once it is spent the
// iterator reports no more occurrences and over is set.
type steps struct {
	next rrule.Next
	left int
	over bool
}

func (s *steps) step() (time.Time, bool) {
	if s.left <= 0 {
		s.over = true
		return time.Time{}, false
	}
	s.left--
	return s.next()
}

// reachableTimeOfDay reports whether a sub-daily rule's BYHOUR, BYMINUTE
// and BYSECOND can ever be met. rrule-go advances such a rule by its
// interval until the clock matches them, forever if it never does:
// FREQ=HOURLY;INTERVAL=2;BYHOUR=1 from midnight only sees even hours. The
// clock reachable from the anchor is its second of the day plus multiples
// of gcd(interval, one day), so it is enough to look at those.
func reachableTimeOfDay(opt *rrule.ROption, anchor time.Time) error {
	var unit, perDay int
	switch opt.Freq {
	case rrule.HOURLY:
		unit, perDay = 60*60, 24
	case rrule.MINUTELY:
		unit, perDay = 60, 24*60
	case rrule.SECONDLY:
		unit, perDay = 1, 24*60*60
	default:
		return nil
	}
	hours := opt.Byhour
	minutes := only(opt.Freq >= rrule.MINUTELY, opt.Byminute)
	seconds := only(opt.Freq >= rrule.SECONDLY, opt.Bysecond)
	if len(hours) == 0 && len(minutes) == 0 && len(seconds) == 0 {
		return nil
	}
	g := gcd(opt.Interval%perDay, perDay) * unit // gcd(k, 0) is k: a whole-day interval
	h, m, s := anchor.Clock()
	for sod := (h*3600 + m*60 + s) % g; sod < 24*60*60; sod += g {
		if matches(hours, sod/3600) && matches(minutes, sod/60%60) && matches(seconds, sod%60) {
			return nil
		}
	}
	return fmt.Errorf("%w: with INTERVAL=%d from %02d:%02d:%02d its clock never meets BYHOUR, BYMINUTE and BYSECOND",
		errWindowNever, opt.Interval, h, m, s)
}

func only(cond bool, list []int) []int {
	if cond {
		return list
	}
	return nil
}

func matches(list []int, v int) bool { return len(list) == 0 || slices.Contains(list, v) }

// occursAtAll reports whether the rule's days ever come (BYMONTH=2 with
// BYMONTHDAY=30 never does, and rrule-go looks for it until the year 9999).
// It asks rrule-go itself, for the same rule with interval 1 started at the
// same date in a year near 9999 of the same place in the 400-year
// Gregorian cycle, where weekdays and leap years repeat: iteration ends at
// 9999 at the latest, after one to two cycles, so a day that exists is
// found and a day that does not costs at most that (~20 ms).
func occursAtAll(w *windowRule) error {
	probe := w.opt
	probe.Interval, probe.Count = 1, 0
	y := 9200 + ((w.anchor.Year()-9200)%400+400)%400
	h, m, s := w.anchor.Clock()
	probe.Dtstart = time.Date(y, w.anchor.Month(), w.anchor.Day(), h, m, s, 0, time.UTC)
	probe.Until = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	rr, err := rrule.NewRRule(probe)
	if err != nil {
		return err
	}
	if _, ok := rr.Iterator()(); !ok {
		return fmt.Errorf("%w: no day matches its BY parts", errWindowNever)
	}
	return nil
}

// scan finds where now stands among the rule's windows, taking at most
// budget occurrences; errWindowNever and errWindowCostly say why it could
// not.
func (w *windowRule) scan(now time.Time, duration time.Duration, budget int) (windowScan, error) {
	if err := reachableTimeOfDay(&w.opt, w.anchor); err != nil {
		return windowScan{}, err
	}
	if err := occursAtAll(w); err != nil {
		return windowScan{}, err
	}
	rr, err := w.from(now.Add(-duration))
	if err != nil {
		return windowScan{}, err
	}
	it := &steps{next: rr.Iterator(), left: budget}
	s := scanWindows(it, now, duration)
	if it.over {
		return windowScan{}, fmt.Errorf("%w: it needs more than %d occurrences", errWindowCostly, budget)
	}
	return s, nil
}

// perWindow counts the occurrences starting in [start, start+duration),
// stopping past limit.
func (w *windowRule) perWindow(start time.Time, duration time.Duration, limit, budget int) (int, error) {
	rr, err := w.from(start)
	if err != nil {
		return 0, err
	}
	it := &steps{next: rr.Iterator(), left: budget}
	n := 0
	for t, ok := it.step(); ok && t.Before(start.Add(duration)) && n <= limit; t, ok = it.step() {
		if !t.Before(start) {
			n++
		}
	}
	if it.over {
		return 0, fmt.Errorf("%w: it needs more than %d occurrences", errWindowCostly, budget)
	}
	return n, nil
}
