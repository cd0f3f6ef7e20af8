// Package history answers what has happened on a release target: its jobs
// newest first, its latest job, its current release. Both the reconciler and
// the policy rules ask these questions, with the same answers.
package history

import (
	"cmp"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Jobs returns the jobs of a target, newest (by createdAt, then id) first.
func Jobs(r store.Reader, targetKey string) []*model.Job {
	jobs := store.JobsByTarget.Get(r, targetKey)
	slices.SortFunc(jobs, func(a, b *model.Job) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return jobs
}

// LatestJob returns the newest job of a target, or nil.
func LatestJob(r store.Reader, targetKey string) *model.Job {
	jobs := Jobs(r, targetKey)
	if len(jobs) == 0 {
		return nil
	}
	return jobs[0]
}

// Processing returns the target's jobs that are still under way.
func Processing(r store.Reader, targetKey string) []*model.Job {
	var out []*model.Job
	for _, j := range store.JobsByTarget.Get(r, targetKey) {
		if model.IsProcessingJobStatus(j.Status) {
			out = append(out, j)
		}
	}
	return out
}

// LatestSuccessful returns the target's successful job with the latest
// completedAt (createdAt when it has none) whose verifications all passed
// (or that had none), or nil. A success still being verified, or whose
// verification failed, does not count.
func LatestSuccessful(r store.Reader, targetKey string) *model.Job {
	var best *model.Job
	for _, j := range store.JobsByTarget.Get(r, targetKey) {
		if j.Status != model.JobSuccessful || !Verified(r, j.ID) {
			continue
		}
		if best == nil || completion(j).After(completion(best)) ||
			(completion(j).Equal(completion(best)) && j.ID > best.ID) {
			best = j
		}
	}
	return best
}

// Verified reports whether every verification of a job passed; a job
// without verifications is verified.
func Verified(r store.Reader, jobID string) bool {
	for _, v := range store.VerificationsByJob.Get(r, jobID) {
		if v.Status != model.VerificationPassed {
			return false
		}
	}
	return true
}

// Completion returns when a job finished: completedAt, or its last update
// when an agent reported a terminal status without a completion time.
func Completion(j *model.Job) time.Time { return completion(j) }

func completion(j *model.Job) time.Time {
	if !j.CompletedAt.IsZero() {
		return j.CompletedAt
	}
	return j.UpdatedAt
}

// CurrentRelease returns the release of the target's newest successful job,
// or nil when nothing was ever deployed successfully.
func CurrentRelease(r store.Reader, targetKey string) *model.Release {
	j := LatestSuccessful(r, targetKey)
	if j == nil {
		return nil
	}
	rel, err := store.Releases.Get(r, j.ReleaseID)
	if err != nil {
		return nil
	}
	return rel
}

// HasReleaseOf reports whether the target ever had a job of the version.
func HasReleaseOf(r store.Reader, targetKey, versionID string) bool {
	for _, rel := range store.ReleasesByTarget.Get(r, targetKey) {
		if rel.Version.ID == versionID && store.JobsByRelease.Count(r, rel.ID) > 0 {
			return true
		}
	}
	return false
}

// Versions returns a deployment's versions, newest createdAt first (ties:
// id descending), the order in which candidates are considered.
func Versions(r store.Reader, deploymentID string) []*model.DeploymentVersion {
	versions := store.VersionsByDeployment.Get(r, deploymentID)
	slices.SortFunc(versions, func(a, b *model.DeploymentVersion) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return versions
}
