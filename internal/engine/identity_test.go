package engine

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// applyAs applies one event sent by caller (nil: no named caller).
func (h *harness) applyAs(caller *model.Caller, eventType string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.eng.Apply(context.Background(), h.ws, []Event{{Type: eventType, Data: raw, Caller: caller}})
}

func (h *harness) mustAs(caller *model.Caller, eventType string, data any) {
	h.t.Helper()
	if err := h.applyAs(caller, eventType, data); err != nil {
		h.t.Fatalf("%s as %v: %v", eventType, caller, err)
	}
}

var (
	alice = &model.Caller{Name: "alice", Groups: []string{"sre"}}
	bob   = &model.Caller{Name: "bob", Groups: []string{"dba"}}
	carol = &model.Caller{Name: "carol", Groups: []string{"sre", "dba"}}
)

// TestEngine_ApprovalCaller: an approval is recorded for the caller that
// sends it, with its groups; a different userId, or groups, are refused.
func TestEngine_ApprovalCaller(t *testing.T) {
	tests := []struct {
		name       string
		caller     *model.Caller
		userID     string
		groups     []string
		wantUser   string
		wantGroups []string
		wantField  string // refused naming this field when set
	}{
		{"a named caller's approval is recorded for it", alice, "", nil, "alice", []string{"sre"}, ""},
		{"a userId equal to the caller's name is accepted", alice, "alice", nil, "alice", []string{"sre"}, ""},
		{"a userId that differs is refused", alice, "mallory", nil, "", nil, "userApprovalRecord.userId"},
		{"groups that differ are refused", alice, "", []string{"sre", "dba"}, "", nil, "userApprovalRecord.groups"},
		{"without a named caller userId is taken as given", nil, "mallory", nil, "mallory", nil, ""},
		{"without a named caller groups cannot be given", nil, "mallory", []string{"sre"}, "", nil, "userApprovalRecord.groups"},
		{"without a named caller userId is required", nil, "", nil, "", nil, "userApprovalRecord.userId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			h.must("deployment-version.created", version("v1", t0, ""))
			a := approval("v1", "prod", tt.userID, model.ApprovalApproved)
			if tt.groups != nil {
				a["groups"] = tt.groups
			}
			err := h.applyAs(tt.caller, "user-approval-record.created", a)
			records := store.UserApprovalRecords.Items(h.snapshot())
			if tt.wantField != "" {
				if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), tt.wantField) {
					t.Fatalf("want EINVALID naming %s, got %v", tt.wantField, err)
				}
				if len(records) != 0 {
					t.Fatalf("a refused approval was stored: %+v", records[0])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(records) != 1 || records[0].UserID != tt.wantUser || !slices.Equal(records[0].Groups, tt.wantGroups) {
				t.Fatalf("records = %+v, want one by %s in %v", records, tt.wantUser, tt.wantGroups)
			}
		})
	}
}

// TestEngine_ApprovalWithdrawal: a named caller withdraws its own approval
// only.
func TestEngine_ApprovalWithdrawal(t *testing.T) {
	h := newHarness(t)
	world(h, "r1")
	h.must("deployment-version.created", version("v1", t0, ""))
	h.mustAs(alice, "user-approval-record.created", approval("v1", "prod", "", model.ApprovalRejected))
	err := h.applyAs(bob, "user-approval-record.deleted", approval("v1", "prod", "alice", model.ApprovalRejected))
	if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), "only its own approval") {
		t.Fatalf("bob withdrawing alice's rejection: %v", err)
	}
	h.mustAs(alice, "user-approval-record.deleted", approval("v1", "prod", "alice", model.ApprovalRejected))
	if n := store.UserApprovalRecords.Count(h.snapshot()); n != 0 {
		t.Fatalf("%d records after alice withdrew hers", n)
	}
}

// TestEngine_VersionCreatedBy: a version's creator is the named caller that
// created it, and stays what was first recorded.
func TestEngine_VersionCreatedBy(t *testing.T) {
	tests := []struct {
		name      string
		steps     func(h *harness) error
		want      string
		wantField string
	}{
		{"set from the named caller", func(h *harness) error {
			return h.applyAs(alice, "deployment-version.created", version("v1", t0, ""))
		}, "alice", ""},
		{"a different createdBy from a named caller is refused", func(h *harness) error {
			v := version("v1", t0, "")
			v["createdBy"] = "bob"
			return h.applyAs(alice, "deployment-version.created", v)
		}, "", "deploymentVersion.createdBy"},
		{"taken as given without a named caller", func(h *harness) error {
			v := version("v1", t0, "")
			v["createdBy"] = "ci"
			return h.applyAs(nil, "deployment-version.created", v)
		}, "ci", ""},
		{"kept by an update that does not name it", func(h *harness) error {
			h.mustAs(alice, "deployment-version.created", version("v1", t0, ""))
			return h.applyAs(bob, "deployment-version.updated", version("v1", t0, model.VersionPaused))
		}, "alice", ""},
		{"an update naming another creator is refused", func(h *harness) error {
			h.mustAs(alice, "deployment-version.created", version("v1", t0, ""))
			v := version("v1", t0, model.VersionPaused)
			v["createdBy"] = "bob"
			return h.applyAs(bob, "deployment-version.updated", v)
		}, "alice", "deploymentVersion.createdBy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			err := tt.steps(h)
			if tt.wantField != "" {
				if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), tt.wantField) {
					t.Fatalf("want EINVALID naming %s, got %v", tt.wantField, err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			v, err := store.DeploymentVersions.Get(h.snapshot(), "v1")
			if tt.want == "" {
				if err == nil {
					t.Fatalf("a refused version was stored by %q", v.CreatedBy)
				}
				return
			}
			if err != nil || v.CreatedBy != tt.want {
				t.Fatalf("createdBy = %v (%v), want %q", v, err, tt.want)
			}
		})
	}
}

// TestEngine_GroupApprovals: an approval rule asking for a group and
// forbidding self-approval, end to end through events with callers.
func TestEngine_GroupApprovals(t *testing.T) {
	rule := map[string]any{"id": "r", "anyApproval": map[string]any{"minApprovals": 1,
		"fromGroups": []any{map[string]any{"group": "sre"}}, "forbidSelfApproval": true}}
	type step struct {
		caller *model.Caller
		status string
		want   []string // targets with a job of v1 after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the creator's own approval does not count, another sre's does", []step{
			{alice, model.ApprovalApproved, nil},
			{bob, model.ApprovalApproved, nil},
			{carol, model.ApprovalApproved, []string{prodKey("r1")}},
		}},
		{"a rejection blocks whatever the approvals", []step{
			{bob, model.ApprovalRejected, nil},
			{carol, model.ApprovalApproved, nil},
		}},
		{"a rejection withdrawn by approving opens it", []step{
			{bob, model.ApprovalRejected, nil},
			{carol, model.ApprovalApproved, nil},
			{bob, model.ApprovalApproved, []string{prodKey("r1")}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			world(h, "r1")
			h.must("policy.created", policyOf("gate", "true", rule))
			h.mustAs(alice, "deployment-version.created", version("v1", time.Time{}, ""))
			for _, s := range tt.steps {
				h.mustAs(s.caller, "user-approval-record.created", approval("v1", "prod", "", s.status))
				wantDeployed(t, h, "v1", s.want...)
			}
		})
	}
	t.Run("a rule naming a group twice is refused", func(t *testing.T) {
		h := newHarness(t)
		err := h.apply("policy.created", policyOf("gate", "true", map[string]any{"id": "r", "anyApproval": map[string]any{
			"minApprovals": 1, "fromGroups": []any{map[string]any{"group": "sre"}, map[string]any{"group": "sre"}}}}))
		if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), "anyApproval.fromGroups[1].group") {
			t.Fatalf("want EINVALID naming fromGroups[1].group, got %v", err)
		}
	})
}
