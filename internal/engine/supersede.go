package engine

import (
	"maps"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A supersede rule lets a newer desired version go ahead of the older
// versions' jobs that no agent has yet: those are cancelled in the unit of
// work that makes the new job, instead of the new version waiting for
// them to run. A job an agent has — dispatched (dispatch.dispatchedAt
// set), claimed by a runner, in progress — is never touched.

// metaSupersededBy is the job metadata key naming the version that
// cancelled a pending job.
const metaSupersededBy = "supersededBy"

// supersede splits a target's processing jobs into those the desired
// release cancels and those it still waits for. Without a supersede rule
// among the target's policies it cancels none.
func supersede(r store.Reader, policies []*model.Policy, desired *model.Release, active []*model.Job) (cancel, rest []*model.Job) {
	if !hasSupersede(policies) {
		return nil, active
	}
	for _, j := range active {
		if supersedable(r, j, desired) {
			cancel = append(cancel, j)
			continue
		}
		rest = append(rest, j)
	}
	return cancel, rest
}

func hasSupersede(policies []*model.Policy) bool {
	for _, p := range policies {
		for i := range p.Rules {
			if p.Rules[i].Supersede != nil {
				return true
			}
		}
	}
	return false
}

// supersedable reports whether the desired release cancels j: j is still
// pending with no agent holding it, and it deploys an older version than
// the desired one (in the order candidates are considered).
func supersedable(r store.Reader, j *model.Job, desired *model.Release) bool {
	if j.Status != model.JobPending || j.ReleaseID == desired.ID {
		return false
	}
	if d := j.Dispatch; d != nil && (!d.DispatchedAt.IsZero() || !d.LeaseExpiresAt.IsZero()) {
		return false
	}
	rel, err := store.Releases.Get(r, j.ReleaseID)
	if err != nil {
		return false
	}
	return newerVersion(desired.Version, rel.Version)
}

// newerVersion reports whether a comes before b among a deployment's
// candidates: created later, or at the same time with a greater id.
func newerVersion(a, b *model.DeploymentVersion) bool {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c > 0
	}
	return a.ID > b.ID
}

// cancelSuperseded cancels the jobs a plan superseded, naming the version
// that took their place.
func (u *unit) cancelSuperseded(plan *Plan) error {
	if len(plan.Superseded) == 0 {
		return nil
	}
	v := plan.Desired.release.Version
	for _, j := range plan.Superseded {
		c := *j
		c.Metadata = maps.Clone(j.Metadata)
		if c.Metadata == nil {
			c.Metadata = map[string]string{}
		}
		c.Metadata[metaSupersededBy] = v.ID
		c.Status, c.Message = model.JobCancelled, "superseded by version "+v.Tag
		c.UpdatedAt, c.CompletedAt = u.tx.Now(), u.tx.Now()
		if err := store.Jobs.Upsert(u.tx, c.ID, &c); err != nil {
			return err
		}
	}
	return nil
}
