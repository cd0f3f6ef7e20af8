package model

import (
	"math"
	"time"
)

// MaxRuleSpan is the longest span a rule or metric may name in any of its
// duration fields (cooldowns, soak times, ages, windows, rollout steps,
// backoffs, measurement intervals): ten years, far beyond any deployment
// practice and far below where time.Duration (about 292 years) overflows.
// Writes naming more are refused; see docs/decisions.md.
const MaxRuleSpan = 10 * 365 * 24 * time.Hour

// DurationOf returns n units as a time.Duration, saturated at the largest
// (or smallest) Duration instead of wrapping around. Rules compute with it
// so that a value stored before the write-time bounds existed can make a
// rule wait very long, but never makes it wait less than asked.
func DurationOf(n int64, unit time.Duration) time.Duration {
	if n == 0 || unit == 0 {
		return 0
	}
	p := n * int64(unit)
	if p/int64(unit) != n || (n == -1 && unit == math.MinInt64) || (unit == -1 && n == math.MinInt64) {
		if (n < 0) != (unit < 0) {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return time.Duration(p)
}

// CheckSpan checks a duration field given as a count of unit: at least min,
// and at most MaxRuleSpan.
func CheckSpan(field string, n int, unit time.Duration, min int) error {
	if n < min {
		if min == 0 {
			return Invalid(field, "must not be negative")
		}
		return Invalid(field, "must be at least %d", min)
	}
	if limit := int64(MaxRuleSpan / unit); int64(n) > limit {
		return Invalid(field, "must be at most %d (ten years)", limit)
	}
	return nil
}
