package policy

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// RetryDecision says whether a release may get another job on its target.
type RetryDecision struct {
	// Allowed is true when a new job may be created now.
	Allowed bool
	// Message explains the decision.
	Message string
	// NextEvaluationTime is when a backoff ends, if one is in force.
	NextEvaluationTime *time.Time
}

// defaultRetryStatuses are the statuses retried when a rule names none.
var defaultRetryStatuses = []string{model.JobFailure, model.JobInvalidIntegration, model.JobInvalidJobAgent}

// retryStatuses returns the statuses a retry rule counts: its own list, or
// the defaults (plus successful when maxRetries is 0, so that a successful
// job also uses up the single allowed attempt).
func retryStatuses(r *model.RetryRule) []string {
	if len(r.RetryOnStatuses) > 0 {
		return r.RetryOnStatuses
	}
	if r.MaxRetries == 0 {
		return append(slices.Clone(defaultRetryStatuses), model.JobSuccessful)
	}
	return defaultRetryStatuses
}

// Retry decides whether releaseID may get a new job given the target's jobs
// (newest first) and the retry rules that apply. Without rules a release
// gets exactly one job. With rules, the consecutive newest jobs of the
// release in a counted status are attempts; more than maxRetries of them, or
// a newest job in a status the rule does not retry (such as a success), ends
// the release's jobs; a backoff after the last attempt delays the next.
func Retry(now time.Time, jobs []*model.Job, releaseID string, rules []*model.RetryRule) RetryDecision {
	var newest *model.Job
	for _, j := range jobs {
		if j.ReleaseID == releaseID {
			newest = j
			break
		}
	}
	if newest == nil {
		return RetryDecision{Allowed: true, Message: "the release has no job yet"}
	}
	if len(rules) == 0 {
		return RetryDecision{Message: "the release already has a job and no retry rule applies"}
	}
	var next *time.Time
	for _, rule := range rules {
		counted := retryStatuses(rule)
		if !slices.Contains(counted, newest.Status) {
			return RetryDecision{Message: fmt.Sprintf("the release's last job ended %s, which is not retried", newest.Status)}
		}
		attempts := 0
		for _, j := range jobs {
			if j.ReleaseID != releaseID || !slices.Contains(counted, j.Status) {
				break
			}
			attempts++
		}
		if attempts > rule.MaxRetries {
			return RetryDecision{Message: fmt.Sprintf("retries exhausted: %d attempts, at most %d retries", attempts, rule.MaxRetries)}
		}
		if wait := backoff(rule, attempts); wait > 0 {
			end := history.Completion(newest).Add(wait)
			if now.Before(end) {
				if next == nil || end.After(*next) {
					e := end.UTC()
					next = &e
				}
			}
		}
	}
	if next != nil {
		return RetryDecision{Message: fmt.Sprintf("retry backoff until %s", next.Format(time.RFC3339)), NextEvaluationTime: next}
	}
	return RetryDecision{Allowed: true, Message: "retry allowed"}
}

// backoff is the wait after the given number of attempts: constant for
// linear, doubling for exponential, capped by maxBackoffSeconds. It
// saturates instead of overflowing, so no stored value shortens a wait.
func backoff(r *model.RetryRule, attempts int) time.Duration {
	if r.BackoffSeconds == nil || *r.BackoffSeconds <= 0 || attempts < 1 {
		return 0
	}
	d := model.DurationOf(int64(*r.BackoffSeconds), time.Second)
	if r.BackoffStrategy == "exponential" {
		for i := 1; i < attempts && d < math.MaxInt64; i++ {
			d = model.DurationOf(2, d)
		}
	}
	if r.MaxBackoffSeconds != nil && *r.MaxBackoffSeconds > 0 {
		d = min(d, model.DurationOf(int64(*r.MaxBackoffSeconds), time.Second))
	}
	return d
}
