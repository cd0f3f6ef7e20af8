package agents

import (
	"strings"
	"testing"
)

func TestResourceName(t *testing.T) {
	id := "0B7C3F1E-5D2A-4C8B-9E61-7A4F2D9C8E10"
	tests := []struct {
		prefix, jobID, want string
	}{
		{"gatehouse-", id, "gatehouse-0b7c3f1e-5d2a-4c8b-9e61-7a4f2d9c8e10"},
		{"Deploy_API.", "job_1", "deploy-api-job-1"},
		{strings.Repeat("p", 40) + "-", id, strings.Repeat("p", 26) + "-0b7c3f1e-5d2a-4c8b-9e61-7a4f2d9c8e10"},
		{"x-", strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{"-", "--", "gatehouse"},
	}
	for _, tt := range tests {
		got := ResourceName(tt.prefix, tt.jobID)
		if got != tt.want {
			t.Errorf("ResourceName(%q, %q) = %q, want %q", tt.prefix, tt.jobID, got, tt.want)
		}
		if len(got) > 63 {
			t.Errorf("ResourceName(%q, %q) is %d characters long", tt.prefix, tt.jobID, len(got))
		}
	}
}

func TestLabelValue(t *testing.T) {
	tests := map[string]string{
		"0B7C3F1E-5D2A":                "0B7C3F1E-5D2A",
		"job/1 ü":                      "job-1",
		"_x.y_":                        "x.y",
		strings.Repeat("a", 64):        strings.Repeat("a", 63),
		strings.Repeat("a", 62) + ".b": strings.Repeat("a", 62),
	}
	for in, want := range tests {
		if got := LabelValue(in); got != want {
			t.Errorf("LabelValue(%q) = %q, want %q", in, got, want)
		}
	}
}
