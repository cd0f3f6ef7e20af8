package policy

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// evalAnyApproval lets the candidate version through once MinApprovals users
// have approved it in the target's environment. Approvals are recorded per
// (version, environment), so one set of approvals opens every target of that
// environment at once. Rejections are kept for display but never count.
func evalAnyApproval(in *Input, rule *model.PolicyRule) Result {
	need := rule.AnyApproval.MinApprovals
	v := in.Version
	envName := nameOfEnvironment(in)

	if need <= 0 {
		// Nothing to wait for: the rule was satisfied as soon as the version
		// existed, which is what a gradual rollout should count from.
		r := Allow(rule, KindAnyApproval, "no approvals are required").Satisfied(v.CreatedAt)
		r.Details["minApprovals"] = need
		return r
	}
	// Adding an approval rule gates the versions built after it; it must not
	// retroactively block older ones (which may be what a rollback needs).
	if v.CreatedAt.Before(rule.CreatedAt) {
		r := Allow(rule, KindAnyApproval, fmt.Sprintf(
			"version %s was created before this approval rule, so it needs no approval", nameOfVersion(v))).
			Satisfied(v.CreatedAt)
		r.Details["minApprovals"] = need
		r.Details["versionCreatedAt"] = v.CreatedAt.UTC()
		r.Details["ruleCreatedAt"] = rule.CreatedAt.UTC()
		return r
	}

	approved, rejected := approvalsOf(in.Reader, v.ID, in.Target.EnvironmentID)
	approvers := make([]string, len(approved))
	for i, a := range approved {
		approvers[i] = a.UserID
	}
	details := func(r Result) Result {
		r.Details["minApprovals"] = need
		r.Details["approvals"] = len(approved)
		r.Details["rejections"] = rejected
		r.Details["approvedBy"] = approvers
		r.Details["versionId"] = v.ID
		r.Details["environmentId"] = in.Target.EnvironmentID
		return r
	}

	if len(approved) >= need {
		// The rule became satisfied with the need-th approval in time order;
		// later approvals do not move that moment.
		return details(Allow(rule, KindAnyApproval, fmt.Sprintf("version %s is approved in %s (%d %s, %d required)",
			nameOfVersion(v), envName, len(approved), singularOrPlural(len(approved), "approval", "approvals"), need)).
			Satisfied(approved[need-1].CreatedAt))
	}
	missing := need - len(approved)
	return details(Pending(rule, KindAnyApproval, ActionApproval, fmt.Sprintf(
		"waiting for %d more %s of version %s in %s (%d of %d)",
		missing, singularOrPlural(missing, "approval", "approvals"), nameOfVersion(v), envName, len(approved), need)))
}

// approvalsOf returns the approved records for a version in an environment,
// oldest first (ties by user id, so the order is stable), and how many
// records rejected it.
func approvalsOf(r store.Reader, versionID, environmentID string) (approved []*model.UserApprovalRecord, rejected int) {
	for _, a := range store.ApprovalsByVersionEnvironment.Get(r, store.ApprovalKey(versionID, environmentID)) {
		switch a.Status {
		case model.ApprovalApproved:
			approved = append(approved, a)
		case model.ApprovalRejected:
			rejected++
		}
	}
	slices.SortFunc(approved, func(a, b *model.UserApprovalRecord) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.UserID, b.UserID)
	})
	return approved, rejected
}

// nameOfEnvironment names the target's environment for messages: its name,
// or its id when the entity was not supplied or has no name.
func nameOfEnvironment(in *Input) string {
	if in.Environment != nil && in.Environment.Name != "" {
		return in.Environment.Name
	}
	return in.Target.EnvironmentID
}
