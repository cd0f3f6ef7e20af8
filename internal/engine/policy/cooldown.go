package policy

import (
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Where a cooldown's reference version came from, as reported in Details.
const (
	cooldownFromProcessingJob  = "processingJob"
	cooldownFromCurrentRelease = "currentRelease"
)

// evalVersionCooldown batches frequent versions: a version other than the
// one on (or being rolled out to) the target may deploy only once
// IntervalSeconds have passed since that reference version was created.
// Before then it is denied with the instant the cooldown ends as its next
// evaluation time, so the engine comes back by itself.
func evalVersionCooldown(in *Input, rule *model.PolicyRule) Result {
	interval := model.DurationOf(int64(max(rule.VersionCooldown.IntervalSeconds, 0)), time.Second)
	cand := in.Version
	ref, source := cooldownReference(in.Reader, in.Target.Key())
	if ref == nil {
		r := Allow(rule, KindVersionCooldown, "no version has been deployed to this target yet, so no cooldown applies")
		r.Details["intervalSeconds"] = rule.VersionCooldown.IntervalSeconds
		return r
	}
	details := func(r Result) Result {
		r.Details["intervalSeconds"] = rule.VersionCooldown.IntervalSeconds
		r.Details["referenceVersionId"] = ref.ID
		r.Details["referenceSource"] = source
		r.Details["referenceCreatedAt"] = ref.CreatedAt.UTC()
		return r
	}
	if ref.ID == cand.ID {
		return details(Allow(rule, KindVersionCooldown, fmt.Sprintf(
			"version %s is the one already on this target", nameOfVersion(cand))))
	}
	from := ref.CreatedAt.Add(interval)
	if in.Now.Before(from) {
		r := details(Deny(rule, KindVersionCooldown, fmt.Sprintf("cooldown: %s was created at %s; %s may deploy from %s",
			nameOfVersion(ref), clockTime(ref.CreatedAt, in.Now), nameOfVersion(cand), clockTime(from, in.Now))).At(from))
		r.Details["allowedFrom"] = from.UTC()
		return r
	}
	r := details(Allow(rule, KindVersionCooldown, fmt.Sprintf("cooldown over: %s was created at %s; %s may deploy since %s",
		nameOfVersion(ref), clockTime(ref.CreatedAt, in.Now), nameOfVersion(cand), clockTime(from, in.Now))))
	r.Details["allowedFrom"] = from.UTC()
	return r
}

// cooldownReference returns the version a cooldown counts from and where it
// was found: the version of the newest processing job (a rollout under way
// is what the target is about to run), else that of the current release.
// It returns nil when the target has neither.
func cooldownReference(r store.Reader, targetKey string) (*model.DeploymentVersion, string) {
	for _, j := range history.Jobs(r, targetKey) {
		if !model.IsProcessingJobStatus(j.Status) {
			continue
		}
		if rel := releaseOfJob(r, j); rel != nil {
			return versionOfRelease(r, rel), cooldownFromProcessingJob
		}
	}
	if rel := history.CurrentRelease(r, targetKey); rel != nil {
		return versionOfRelease(r, rel), cooldownFromCurrentRelease
	}
	return nil, ""
}

// releaseOfJob returns the job's release from the store, falling back to the
// copy in its dispatch context (which is how the job was found per target).
func releaseOfJob(r store.Reader, j *model.Job) *model.Release {
	if rel, err := store.Releases.Get(r, j.ReleaseID); err == nil {
		return rel
	}
	if j.DispatchContext != nil {
		return j.DispatchContext.Release
	}
	return nil
}

// versionOfRelease returns the stored version a release was made from,
// falling back to the release's embedded copy when the version is gone.
func versionOfRelease(r store.Reader, rel *model.Release) *model.DeploymentVersion {
	if v, err := store.DeploymentVersions.Get(r, rel.Version.ID); err == nil {
		return v
	}
	return rel.Version
}
