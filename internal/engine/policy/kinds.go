package policy

import "github.com/gatehouse-dev/gatehouse/internal/model"

// KindSupersede names the supersede rule, which acts on pending jobs.
const KindSupersede = "supersede"

// KindFreeze is what a target waits on when a freeze holds the job of a
// release that would deploy. Freezes are not policy rules; the name only
// travels in target states and the waiting-targets gauge.
const KindFreeze = "freeze"

// Kinds lists the name of every rule kind, as rules are written on the
// wire and results name them.
var Kinds = []string{KindAnyApproval, KindEnvironmentProgression, KindGradualRollout, KindDeploymentWindow,
	KindVersionCooldown, KindVersionSelector, KindDeploymentDependency, "retry", "rollback", "verification",
	KindSupersede}

// KindOf names the kind of a rule ("" for a rule holding none).
func KindOf(rule *model.PolicyRule) string {
	switch {
	case rule.AnyApproval != nil:
		return KindAnyApproval
	case rule.EnvironmentProgression != nil:
		return KindEnvironmentProgression
	case rule.GradualRollout != nil:
		return KindGradualRollout
	case rule.DeploymentWindow != nil:
		return KindDeploymentWindow
	case rule.VersionCooldown != nil:
		return KindVersionCooldown
	case rule.VersionSelector != nil:
		return KindVersionSelector
	case rule.DeploymentDependency != nil:
		return KindDeploymentDependency
	case rule.Retry != nil:
		return "retry"
	case rule.Rollback != nil:
		return "rollback"
	case rule.Verification != nil:
		return "verification"
	case rule.Supersede != nil:
		return KindSupersede
	}
	return ""
}
