package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// evalAnyApproval lets the candidate version through once enough users have
// approved it in the target's environment: minApprovals in all, and as many
// as each fromGroups entry asks from the members of its group (a member of
// two groups counts for both). Approvals are recorded per (version,
// environment), so one set of approvals opens every target of that
// environment at once. A rejection blocks the version there, whatever the
// approvals; with forbidSelfApproval, the version's creator's approval does
// not count.
func evalAnyApproval(in *Input, rule *model.PolicyRule) Result {
	ar := rule.AnyApproval
	v := in.Version
	envName := nameOfEnvironment(in)
	approved, rejected := approvalsOf(in.Reader, v.ID, in.Target.EnvironmentID)

	if len(rejected) > 0 {
		// A rejection is a decision about this very version, so it holds
		// even where nothing is required or the version predates the rule.
		first := rejected[0]
		msg := fmt.Sprintf("version %s was rejected in %s by %s", nameOfVersion(v), envName, first.UserID)
		if first.Reason != "" {
			msg += ": " + first.Reason
		}
		r := Deny(rule, KindAnyApproval, msg)
		r.Details["rejectedBy"] = userIDs(rejected)
		r.Details["versionId"] = v.ID
		r.Details["environmentId"] = in.Target.EnvironmentID
		return r
	}
	if ar.MinApprovals <= 0 && len(ar.FromGroups) == 0 {
		// Nothing to wait for: the rule was satisfied as soon as the version
		// existed, which is what a gradual rollout should count from.
		r := Allow(rule, KindAnyApproval, "no approvals are required").Satisfied(v.CreatedAt)
		r.Details["minApprovals"] = ar.MinApprovals
		return r
	}
	// Adding an approval rule gates the versions built after it; it must not
	// retroactively block older ones (which may be what a rollback needs).
	if v.CreatedAt.Before(rule.CreatedAt) {
		r := Allow(rule, KindAnyApproval, fmt.Sprintf(
			"version %s was created before this approval rule, so it needs no approval", nameOfVersion(v))).
			Satisfied(v.CreatedAt)
		r.Details["minApprovals"] = ar.MinApprovals
		r.Details["versionCreatedAt"] = v.CreatedAt.UTC()
		r.Details["ruleCreatedAt"] = rule.CreatedAt.UTC()
		return r
	}

	var counted, self []*model.UserApprovalRecord
	for _, a := range approved {
		if ar.ForbidSelfApproval && v.CreatedBy != "" && a.UserID == v.CreatedBy {
			self = append(self, a)
			continue
		}
		counted = append(counted, a)
	}
	details := func(r Result, tally approvalTally) Result {
		r.Details["minApprovals"] = ar.MinApprovals
		r.Details["approvals"] = len(counted)
		r.Details["rejections"] = 0
		r.Details["approvedBy"] = userIDs(counted)
		r.Details["versionId"] = v.ID
		r.Details["environmentId"] = in.Target.EnvironmentID
		if len(ar.FromGroups) > 0 {
			r.Details["fromGroups"] = tally.groupDetails(ar.FromGroups)
		}
		if len(self) > 0 {
			r.Details["selfApprovalsIgnored"] = userIDs(self)
		}
		return r
	}

	// The rule became satisfied with the approval, in time order, that met
	// the last of its requirements; later approvals do not move that moment.
	for i := range counted {
		if t := tallyOf(counted[:i+1], ar.FromGroups); t.met(ar) {
			tally := tallyOf(counted, ar.FromGroups)
			return details(Allow(rule, KindAnyApproval, fmt.Sprintf("version %s is approved in %s (%d %s, %d required%s)",
				nameOfVersion(v), envName, len(counted), singularOrPlural(len(counted), "approval", "approvals"),
				ar.MinApprovals, tally.groupSummary(ar.FromGroups))).Satisfied(counted[i].CreatedAt), tally)
		}
	}
	tally := tallyOf(counted, ar.FromGroups)
	var missing []string
	if short := ar.MinApprovals - len(counted); short > 0 {
		missing = append(missing, fmt.Sprintf("%d more %s of version %s in %s (%d of %d)",
			short, singularOrPlural(short, "approval", "approvals"), nameOfVersion(v), envName, len(counted), ar.MinApprovals))
	}
	for _, g := range ar.FromGroups {
		if have := tally.byGroup[g.Group]; have < g.Need() {
			missing = append(missing, fmt.Sprintf("%d more from group %s (%d of %d)", g.Need()-have, g.Group, have, g.Need()))
		}
	}
	msg := "waiting for " + strings.Join(missing, "; ")
	if ar.MinApprovals-len(counted) <= 0 {
		msg = fmt.Sprintf("waiting for approvals of version %s in %s: %s", nameOfVersion(v), envName, strings.Join(missing, "; "))
	}
	if len(self) > 0 {
		msg += fmt.Sprintf("; the approval of %s, who created the version, does not count", self[0].UserID)
	}
	return details(Pending(rule, KindAnyApproval, ActionApproval, msg), tally)
}

// approvalTally counts approvals per group asked for.
type approvalTally struct {
	total   int
	byGroup map[string]int
	members map[string][]string
}

func tallyOf(approved []*model.UserApprovalRecord, groups []model.GroupApproval) approvalTally {
	t := approvalTally{total: len(approved), byGroup: map[string]int{}, members: map[string][]string{}}
	for _, g := range groups {
		t.members[g.Group] = []string{}
		for _, a := range approved {
			if slices.Contains(a.Groups, g.Group) {
				t.byGroup[g.Group]++
				t.members[g.Group] = append(t.members[g.Group], a.UserID)
			}
		}
	}
	return t
}

// met reports whether the tally meets every requirement of the rule.
func (t approvalTally) met(ar *model.AnyApprovalRule) bool {
	if t.total < ar.MinApprovals {
		return false
	}
	for _, g := range ar.FromGroups {
		if t.byGroup[g.Group] < g.Need() {
			return false
		}
	}
	return true
}

// groupSummary is ", sre 1 of 1, dba 2 of 2" for messages; "" without groups.
func (t approvalTally) groupSummary(groups []model.GroupApproval) string {
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, ", %s %d of %d", g.Group, t.byGroup[g.Group], g.Need())
	}
	return b.String()
}

func (t approvalTally) groupDetails(groups []model.GroupApproval) []map[string]any {
	out := make([]map[string]any, len(groups))
	for i, g := range groups {
		out[i] = map[string]any{"group": g.Group, "minApprovals": g.Need(), "approvals": t.byGroup[g.Group],
			"approvedBy": t.members[g.Group]}
	}
	return out
}

// approvalsOf returns the approved and the rejected records for a version
// in an environment, each oldest first (ties by user id, so the order is
// stable).
func approvalsOf(r store.Reader, versionID, environmentID string) (approved, rejected []*model.UserApprovalRecord) {
	for _, a := range store.ApprovalsByVersionEnvironment.Get(r, store.ApprovalKey(versionID, environmentID)) {
		switch a.Status {
		case model.ApprovalApproved:
			approved = append(approved, a)
		case model.ApprovalRejected:
			rejected = append(rejected, a)
		}
	}
	byTime := func(a, b *model.UserApprovalRecord) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.UserID, b.UserID)
	}
	slices.SortFunc(approved, byTime)
	slices.SortFunc(rejected, byTime)
	return approved, rejected
}

func userIDs(records []*model.UserApprovalRecord) []string {
	out := make([]string, len(records))
	for i, a := range records {
		out[i] = a.UserID
	}
	return out
}

// nameOfEnvironment names the target's environment for messages: its name,
// or its id when the entity was not supplied or has no name.
func nameOfEnvironment(in *Input) string {
	if in.Environment != nil && in.Environment.Name != "" {
		return in.Environment.Name
	}
	return in.Target.EnvironmentID
}
