package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Tests of eligible versions: the versions that pass every rule now, and
// what-if with rules excluded.

func TestEngine_EligibleVersions(t *testing.T) {
	tests := []struct {
		name string
		q    EligibleQuery
		want []string
	}{
		{"every rule", EligibleQuery{}, []string{"v1"}},
		{"without the approval rules, by kind", EligibleQuery{ExcludeRules: []string{"anyApproval"}}, []string{"v3", "v1"}},
		{"without one rule, by id", EligibleQuery{ExcludeRules: []string{"needs-two"}}, []string{"v3", "v1"}},
		{"a kind that no rule of the target has excludes nothing", EligibleQuery{ExcludeRules: []string{"gradualRollout"}}, []string{"v1"}},
		{"filtered by CEL over the version", EligibleQuery{ExcludeRules: []string{"anyApproval"}, Filter: `version.metadata["branch"] == "main"`},
			[]string{"v3"}},
		{"a filter matching nothing", EligibleQuery{Filter: `version.tag == "nope"`}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h)
			gate := policyOf("gate", `environment.name == "prod"`, approvalRule("needs-two", 2))
			gate["createdAt"] = t0.Add(-time.Hour) // older than the versions, so that approval applies to them
			h.must("policy.created", gate)
			v1 := versionOf("v1", "api", t0)
			h.must("deployment-version.created", v1)
			v2 := versionOf("v2", "api", t0.Add(time.Minute))
			v2["status"] = model.VersionBuilding
			h.must("deployment-version.created", v2)
			v3 := versionOf("v3", "api", t0.Add(2*time.Minute))
			v3["metadata"] = map[string]string{"branch": "main"}
			h.must("deployment-version.created", v3)
			for _, user := range []string{"ann", "bob"} {
				h.must("user-approval-record.created", approval("v1", "prod", user, model.ApprovalApproved))
			}
			before := len(h.allJobs())
			got, err := h.eng.EligibleVersions(h.snapshot(), p1Prod, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if after := len(h.allJobs()); after != before {
				t.Fatalf("asking made jobs: %d before, %d after", before, after)
			}
			ids := []string{}
			for _, v := range got {
				ids = append(ids, v.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("eligible %v, want %v", ids, tt.want)
			}
		})
	}
	t.Run("a skip counts, as for the engine", func(t *testing.T) {
		h := newHarness(t)
		stages(h)
		gate := policyOf("gate", "true", approvalRule("needs-one", 1))
		gate["createdAt"] = t0.Add(-time.Hour)
		h.must("policy.created", gate)
		h.must("deployment-version.created", versionOf("v1", "api", t0))
		h.must("policy-skip.created", map[string]any{"id": "skip", "versionId": "v1", "ruleId": "needs-one", "environmentId": "prod"})
		for key, want := range map[string]int{p1Prod: 1, s1Staging: 0} {
			got, err := h.eng.EligibleVersions(h.snapshot(), key, EligibleQuery{})
			if err != nil || len(got) != want {
				t.Fatalf("%s: %d eligible (%v), want %d", key, len(got), err, want)
			}
		}
	})
}

func TestEngine_EligibleVersions_Refused(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		q     EligibleQuery
		code  string
		field string
	}{
		{"a filter that does not compile", p1Prod, EligibleQuery{Filter: "version.tag =="}, model.EINVALID, "filter"},
		{"a filter over what a version lacks", p1Prod, EligibleQuery{Filter: `resource.name == "p1"`}, model.EINVALID, "filter"},
		{"an exclusion that is no rule", p1Prod, EligibleQuery{ExcludeRules: []string{"anyAproval"}}, model.EINVALID, "excludeRules"},
		{"a target that does not exist", "nope", EligibleQuery{}, model.ENOTFOUND, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			stages(h)
			h.must("policy.created", policyOf("gate", "true", approvalRule("r", 1)))
			_, err := h.eng.EligibleVersions(h.snapshot(), tt.key, tt.q)
			if model.ErrorCode(err) != tt.code || model.ErrorField(err) != tt.field {
				t.Fatalf("want %s naming %q, got %v", tt.code, tt.field, err)
			}
		})
	}
}
