package engine

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Who approved or created something comes from the event's caller when a
// named token sent it, never from what the payload claims: a userId,
// groups or createdBy that disagree with the caller are refused. Without a
// named caller (no tokens configured, the anonymous admin token) userId and
// createdBy are taken as given, and groups cannot be given at all.

// named returns the caller's name, "" without a named caller.
func (u *unit) named() string {
	if u.caller == nil {
		return ""
	}
	return u.caller.Name
}

// stampApprover records the caller as the approval's user, with the
// caller's groups.
func (u *unit) stampApprover(a *model.UserApprovalRecord) error {
	name := u.named()
	if name == "" {
		if len(a.Groups) > 0 {
			return model.Invalid("userApprovalRecord.groups",
				"come from the approver's token (--tokens-file); an approval sent without a named token carries none")
		}
		return nil
	}
	if a.UserID != "" && a.UserID != name {
		return model.Invalid("userApprovalRecord.userId",
			"%q is not the caller %q: an approval is recorded for the holder of the token that sends it; leave userId out or give %q",
			a.UserID, name, name)
	}
	groups := slices.Sorted(slices.Values(u.caller.Groups))
	if len(a.Groups) > 0 && !slices.Equal(slices.Sorted(slices.Values(a.Groups)), groups) {
		return model.Invalid("userApprovalRecord.groups", "are the caller's groups %v, not what the approval says", groups)
	}
	a.UserID, a.Groups = name, groups
	return nil
}

// checkWithdrawal lets a named caller delete only its own approval.
func (u *unit) checkWithdrawal(a *model.UserApprovalRecord) error {
	if name := u.named(); name != "" && a.UserID != name {
		return model.Invalid("userApprovalRecord.userId",
			"%q is not the caller %q: a caller may withdraw only its own approval", a.UserID, name)
	}
	return nil
}

// stampCreator sets a new version's createdBy from the caller and keeps a
// stored version's as it was first recorded.
func (u *unit) stampCreator(v *model.DeploymentVersion) error {
	if old, err := store.DeploymentVersions.Get(u.tx, v.ID); err == nil {
		switch {
		case v.CreatedBy == "":
			v.CreatedBy = old.CreatedBy
		case v.CreatedBy != old.CreatedBy:
			return model.Invalid("deploymentVersion.createdBy",
				"is %q, recorded when the version was created; it does not change", old.CreatedBy)
		}
		return nil
	}
	name := u.named()
	if name == "" {
		return nil
	}
	if v.CreatedBy != "" && v.CreatedBy != name {
		return model.Invalid("deploymentVersion.createdBy",
			"%q is not the caller %q: a version's creator is the holder of the token that creates it", v.CreatedBy, name)
	}
	v.CreatedBy = name
	return nil
}
