package policy

import (
	"fmt"
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

// defaultRetryStatuses are the statuses a retry rule counts when it names
// none.
var defaultRetryStatuses = []string{model.JobFailure, model.JobInvalidIntegration, model.JobInvalidJobAgent}

// countedStatuses returns the statuses a retry rule counts as attempts: its
// own list, or the defaults (plus successful when maxRetries is 0, so that
// a successful job uses up the single allowed attempt). Nil means every
// status, the rule that applies when no policy has a retry rule.
func countedStatuses(r *model.RetryRule) []string {
	if r == nil {
		return nil
	}
	if len(r.RetryOnStatuses) > 0 {
		return r.RetryOnStatuses
	}
	if r.MaxRetries == 0 {
		return append(slices.Clone(defaultRetryStatuses), model.JobSuccessful)
	}
	return defaultRetryStatuses
}

// Walk says which of a target's jobs the retry walk counts for one new job:
// jobs of ReleaseID made for the agent being decided (Same), skipping jobs
// of the release made for the other agents chosen with it (Sibling).
type Walk struct {
	ReleaseID string
	// Same reports whether a job was made for the agent, agent type and
	// merged config a new job would be given.
	Same func(*model.Job) bool
	// Sibling reports whether a job was made for another of the agents the
	// release is given to now; nil means none.
	Sibling func(*model.Job) bool
	// Skip reports jobs the walk passes over whatever their release; nil
	// skips none. The engine skips rollback jobs, so that rolling back
	// from a failed release does not make it look desired again.
	Skip func(*model.Job) bool
}

// Retry decides whether the release may get a new job for one agent, given
// the target's jobs (newest first, none processing) and the retry rules
// that apply (SPEC §5).
//
// Walking the jobs newest first, each job of the release made for the same
// agent and config whose status a rule counts is one attempt; the walk stops
// at a job of another release, a job made for an agent or config no longer
// chosen, or a status the rule does not count. More than maxRetries attempts
// means no job; a backoff after the last attempt delays the next. Without
// rules the walk counts every status with maxRetries 0: a release gets one
// job in a row, and a new one once another release (or another agent
// config) had a job since. A release whose latest job on the agent
// succeeded is deployed there and gets no job, whatever the rules count:
// retries are for jobs that did not work.
func Retry(now time.Time, jobs []*model.Job, w Walk, rules []*model.RetryRule) RetryDecision {
	if len(rules) == 0 {
		rules = []*model.RetryRule{nil}
	}
	var next *time.Time
	for _, rule := range rules {
		counted := countedStatuses(rule)
		attempts, newest, last := walk(jobs, w, counted)
		if newest != nil && newest.Status == model.JobSuccessful && !counts(counted, model.JobSuccessful) {
			return RetryDecision{Message: "the release is deployed: its last job succeeded"}
		}
		maxRetries := 0
		if rule != nil {
			maxRetries = rule.MaxRetries
		}
		if attempts > maxRetries {
			if rule == nil {
				return RetryDecision{Message: fmt.Sprintf("the release already had its job (%s) and no retry rule applies", newest.Status)}
			}
			return RetryDecision{Message: fmt.Sprintf("retries exhausted: %d attempts, at most %d retries", attempts, maxRetries)}
		}
		if wait := backoff(rule, attempts); wait > 0 && last != nil {
			if end := history.Completion(last).Add(wait); now.Before(end) && (next == nil || end.After(*next)) {
				e := end.UTC()
				next = &e
			}
		}
	}
	if next != nil {
		return RetryDecision{Message: fmt.Sprintf("retry backoff until %s", next.Format(time.RFC3339)), NextEvaluationTime: next}
	}
	return RetryDecision{Allowed: true, Message: "a new job is allowed"}
}

// walk counts the attempts for one rule: it returns their number, the
// newest job of the walk (counted or not) and the newest counted one.
// counted nil counts every status.
func walk(jobs []*model.Job, w Walk, counted []string) (attempts int, newest, last *model.Job) {
	for _, j := range jobs {
		if w.Skip != nil && w.Skip(j) {
			continue
		}
		if j.ReleaseID != w.ReleaseID {
			break
		}
		if !w.Same(j) {
			if w.Sibling != nil && w.Sibling(j) {
				continue
			}
			break
		}
		if newest == nil {
			newest = j
		}
		if !counts(counted, j.Status) {
			break
		}
		attempts++
		if last == nil {
			last = j
		}
	}
	return attempts, newest, last
}

// counts reports whether a rule counting the statuses counted (nil: all)
// counts status.
func counts(counted []string, status string) bool {
	return counted == nil || slices.Contains(counted, status)
}

// backoff is the wait after the given number of attempts: constant for
// linear, doubling for exponential, capped by maxBackoffSeconds.
func backoff(r *model.RetryRule, attempts int) time.Duration {
	if r == nil || r.BackoffSeconds == nil || *r.BackoffSeconds <= 0 || attempts < 1 {
		return 0
	}
	secs := float64(*r.BackoffSeconds)
	if r.BackoffStrategy == "exponential" {
		for i := 1; i < attempts && secs < 1e9; i++ {
			secs *= 2
		}
	}
	if r.MaxBackoffSeconds != nil && *r.MaxBackoffSeconds > 0 && secs > float64(*r.MaxBackoffSeconds) {
		secs = float64(*r.MaxBackoffSeconds)
	}
	return time.Duration(secs * float64(time.Second))
}
