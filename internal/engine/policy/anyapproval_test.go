package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestEvalAnyApproval(t *testing.T) {
	type approval struct {
		user, env, status string
		at                time.Duration
	}
	approved := func(user string, at time.Duration) approval {
		return approval{user, "prod", model.ApprovalApproved, at}
	}
	rejected := func(user string, at time.Duration) approval {
		return approval{user, "prod", model.ApprovalRejected, at}
	}
	tests := []struct {
		name        string
		min         int
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
			name: "rejections do not count",
			min:  2,
			approvals: []approval{
				approved("alice", time.Minute), rejected("bob", 2*time.Minute), rejected("carol", 3*time.Minute),
			},
			want:      fxWant{outcome: fxPendingApproval, msg: []string{"(1 of 2)"}},
			wantCount: 1,
		},
		{
			name:      "approvals in another environment do not count",
			min:       1,
			approvals: []approval{{"alice", "staging", model.ApprovalApproved, time.Minute}},
			want:      fxWant{outcome: fxPendingApproval, msg: []string{"(0 of 1)"}},
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
			approvals:   []approval{rejected("alice", time.Minute)},
			want:        fxWant{outcome: fxPendingApproval, msg: []string{"(0 of 1)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFxWorld(t)
			target := w.target("cluster-1", "prod", "api")
			v := w.version("ver-2", "api", "v2", fxBase)
			for _, a := range tt.approvals {
				w.approval(a.user, v.ID, a.env, a.status, fxAt(a.at))
			}
			rule := &model.PolicyRule{ID: "rule-approval", CreatedAt: fxAt(tt.ruleCreated),
				AnyApproval: &model.AnyApprovalRule{MinApprovals: tt.min}}

			got := evalAnyApproval(fxInput(fxAt(time.Hour), w.reader(), target, v), rule)

			fxCheck(t, got, rule, KindAnyApproval, tt.want)
			if n, ok := got.Details["approvals"]; ok && n != tt.wantCount {
				t.Errorf("details.approvals = %v, want %d", n, tt.wantCount)
			}
		})
	}
}
