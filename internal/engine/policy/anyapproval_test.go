package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func TestEvalAnyApproval(t *testing.T) {
	type approval struct {
		user, env, status string
		at                time.Duration
		groups            []string
	}
	approved := func(user string, at time.Duration, groups ...string) approval {
		return approval{user, "prod", model.ApprovalApproved, at, groups}
	}
	rejected := func(user string, at time.Duration) approval {
		return approval{user, "prod", model.ApprovalRejected, at, nil}
	}
	tests := []struct {
		name        string
		min         int
		fromGroups  []model.GroupApproval
		forbidSelf  bool
		createdBy   string        // of the version
		ruleCreated time.Duration // relative to fxBase; the version is created at fxBase
		approvals   []approval
		want        fxWant
		wantCount   int
	}{
		{
			name: "zero required is allowed at once",
			min:  0,
			want: fxWant{outcome: fxAllowed, msg: []string{"no approvals"}, satisfiedAt: fxTime(fxBase)},
		},
		{
			name: "negative required is allowed at once",
			min:  -2,
			want: fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxBase)},
		},
		{
			name: "no approvals is pending",
			min:  1,
			want: fxWant{outcome: fxPendingApproval, msg: []string{"waiting for 1 more approval of version v2 in prod (0 of 1)"}},
		},
		{
			name:      "one of two is pending",
			min:       2,
			approvals: []approval{approved("alice", time.Minute)},
			want:      fxWant{outcome: fxPendingApproval, msg: []string{"waiting for 1 more approval", "(1 of 2)"}},
			wantCount: 1,
		},
		{
			name: "plural when more than one is missing",
			min:  3,
			want: fxWant{outcome: fxPendingApproval, msg: []string{"waiting for 3 more approvals", "(0 of 3)"}},
		},
		{
			name:      "exactly the minimum is allowed",
			min:       1,
			approvals: []approval{approved("alice", time.Minute)},
			want:      fxWant{outcome: fxAllowed, msg: []string{"version v2 is approved in prod (1 approval, 1 required)"}, satisfiedAt: fxTime(fxAt(time.Minute))},
			wantCount: 1,
		},
		{
			name: "satisfiedAt is the min-th approval in time order",
			min:  2,
			// Stored out of time order, with a later third approval that
			// must not move the moment the rule was satisfied.
			approvals: []approval{
				approved("carol", 10*time.Minute), approved("alice", time.Minute), approved("bob", 5*time.Minute),
			},
			want:      fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxAt(5 * time.Minute))},
			wantCount: 3,
		},
		{
			name: "a rejection blocks the version, whatever the approvals",
			min:  1,
			approvals: []approval{
				approved("alice", time.Minute), approved("dave", time.Minute), rejected("carol", 3*time.Minute),
				rejected("bob", 2*time.Minute),
			},
			want: fxWant{outcome: fxDenied, msg: []string{"version v2 was rejected in prod by bob"}},
		},
		{
			name:        "a rejection blocks a version older than the rule too",
			min:         1,
			ruleCreated: time.Hour,
			approvals:   []approval{rejected("bob", 2*time.Minute)},
			want:        fxWant{outcome: fxDenied, msg: []string{"rejected in prod by bob"}},
		},
		{
			name:      "a rejection blocks where nothing is required",
			min:       0,
			approvals: []approval{rejected("bob", 2*time.Minute)},
			want:      fxWant{outcome: fxDenied, msg: []string{"rejected in prod by bob"}},
		},
		{
			name:      "a rejection in another environment does not block",
			min:       1,
			approvals: []approval{approved("alice", time.Minute), {"bob", "staging", model.ApprovalRejected, time.Minute, nil}},
			want:      fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxAt(time.Minute))},
			wantCount: 1,
		},
		{
			name:      "approvals in another environment do not count",
			min:       1,
			approvals: []approval{{"alice", "staging", model.ApprovalApproved, time.Minute, nil}},
			want:      fxWant{outcome: fxPendingApproval, msg: []string{"(0 of 1)"}},
		},
		{
			name:       "each group needs its approvals",
			min:        1,
			fromGroups: []model.GroupApproval{{Group: "sre"}, {Group: "dba", MinApprovals: 2}},
			approvals:  []approval{approved("alice", time.Minute, "sre"), approved("bob", 2*time.Minute, "dba")},
			want: fxWant{outcome: fxPendingApproval,
				msg: []string{"waiting for approvals of version v2 in prod: 1 more from group dba (1 of 2)"}},
			wantCount: 2,
		},
		{
			name:       "satisfied by the approval that meets the last group",
			min:        1,
			fromGroups: []model.GroupApproval{{Group: "sre"}, {Group: "dba"}},
			approvals: []approval{approved("carol", 9*time.Minute, "dba"), approved("alice", time.Minute, "sre"),
				approved("bob", 5*time.Minute, "dba")},
			want: fxWant{outcome: fxAllowed, msg: []string{"(3 approvals, 1 required, sre 1 of 1, dba 2 of 1)"},
				satisfiedAt: fxTime(fxAt(5 * time.Minute))},
			wantCount: 3,
		},
		{
			name:       "a member of two groups counts for both, but the total still needs people",
			min:        2,
			fromGroups: []model.GroupApproval{{Group: "sre"}, {Group: "dba"}},
			approvals:  []approval{approved("alice", time.Minute, "sre", "dba")},
			want:       fxWant{outcome: fxPendingApproval, msg: []string{"waiting for 1 more approval of version v2 in prod (1 of 2)"}},
			wantCount:  1,
		},
		{
			name:       "groups alone, without a total",
			fromGroups: []model.GroupApproval{{Group: "sre"}},
			approvals:  []approval{approved("bob", time.Minute)},
			want:       fxWant{outcome: fxPendingApproval, msg: []string{"1 more from group sre (0 of 1)"}},
			wantCount:  1,
		},
		{
			name:       "the creator's approval does not count when self-approval is forbidden",
			min:        1,
			forbidSelf: true,
			createdBy:  "alice",
			approvals:  []approval{approved("alice", time.Minute)},
			want: fxWant{outcome: fxPendingApproval,
				msg: []string{"(0 of 1)", "the approval of alice, who created the version, does not count"}},
		},
		{
			name:       "another's approval does",
			min:        1,
			forbidSelf: true,
			createdBy:  "alice",
			approvals:  []approval{approved("alice", time.Minute), approved("bob", 2*time.Minute)},
			want:       fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxAt(2 * time.Minute))},
			wantCount:  1,
		},
		{
			name:      "self-approval counts unless forbidden",
			min:       1,
			createdBy: "alice",
			approvals: []approval{approved("alice", time.Minute)},
			want:      fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxAt(time.Minute))},
			wantCount: 1,
		},
		{
			name:        "version created before the rule is allowed",
			min:         2,
			ruleCreated: time.Hour,
			want:        fxWant{outcome: fxAllowed, msg: []string{"created before this approval rule"}, satisfiedAt: fxTime(fxBase)},
		},
		{
			name:        "version created with the rule still needs approval",
			min:         1,
			ruleCreated: 0,
			want:        fxWant{outcome: fxPendingApproval},
		},
		{
			name:        "version created after the rule still needs approval",
			min:         1,
			ruleCreated: -time.Hour,
			want:        fxWant{outcome: fxPendingApproval, msg: []string{"(0 of 1)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFxWorld(t)
			target := w.target("cluster-1", "prod", "api")
			v := fxVersion("ver-2", "api", "v2", fxBase)
			v.CreatedBy = tt.createdBy
			fxPut(w, store.DeploymentVersions, v)
			for _, a := range tt.approvals {
				fxPut(w, store.UserApprovalRecords, &model.UserApprovalRecord{UserID: a.user, Groups: a.groups,
					VersionID: v.ID, EnvironmentID: a.env, Status: a.status, CreatedAt: fxAt(a.at)})
			}
			rule := &model.PolicyRule{ID: "rule-approval", CreatedAt: fxAt(tt.ruleCreated),
				AnyApproval: &model.AnyApprovalRule{MinApprovals: tt.min, FromGroups: tt.fromGroups,
					ForbidSelfApproval: tt.forbidSelf}}

			got := evalAnyApproval(fxInput(fxAt(time.Hour), w.reader(), target, v), rule)

			fxCheck(t, got, rule, KindAnyApproval, tt.want)
			if n, ok := got.Details["approvals"]; ok && n != tt.wantCount {
				t.Errorf("details.approvals = %v, want %d", n, tt.wantCount)
			}
		})
	}
}
