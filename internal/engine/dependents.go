package engine

import (
	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// markDependents marks the targets whose rules may have been waiting on
// what just happened on t: a job finished, or a verification decided
// whether a success counts. That can satisfy progression in the
// deployment's other environments (whose success statuses, and whether
// they need a passed verification, the rule names) and dependencies of
// other deployments on the resource (a deployment dependency, a version's
// own dependencies). Only targets held back by those rules need a look.
func (u *unit) markDependents(t *model.ReleaseTarget) {
	u.markWaiting(policy.KindEnvironmentProgression, t.DeploymentID)
	u.markWaiting(policy.KindDeploymentDependency, t.ResourceID)
	u.markWaiting(policy.KindVersionDependency, t.ResourceID)
}
