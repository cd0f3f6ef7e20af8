package model

import (
	"fmt"
	"slices"
	"testing"
)

func TestInvalid_SetsField(t *testing.T) {
	err := Invalid("deployment.jobAgents[0].config", "cannot use a JSON %s as an object", "string")
	if err.Message != "deployment.jobAgents[0].config: cannot use a JSON string as an object" {
		t.Errorf("message %q", err.Message)
	}
	if err.Field != "deployment.jobAgents[0].config" || err.Code != EINVALID {
		t.Errorf("field %q code %q", err.Field, err.Code)
	}
	if got := ErrorField(fmt.Errorf("event 2 (deployment.created): %w", err)); got != err.Field {
		t.Errorf("ErrorField through wrapping: %q", got)
	}
	if got := ErrorField(fmt.Errorf("plain")); got != "" {
		t.Errorf("ErrorField of a plain error: %q", got)
	}
}

func TestUnknownField(t *testing.T) {
	known := []string{"config", "createdAt", "deploymentId", "id", "message", "name", "status", "tag"}
	tests := []struct {
		path, name     string
		message, field string
	}{
		{"deploymentVersion", "stauts",
			`unknown field "stauts" in deploymentVersion; did you mean "status"?`, "deploymentVersion.stauts"},
		{"deploymentVersion", "Status",
			`unknown field "Status" in deploymentVersion; did you mean "status"?`, "deploymentVersion.Status"},
		{"deploymentVersion", "deploymentid",
			`unknown field "deploymentid" in deploymentVersion; did you mean "deploymentId"?`, "deploymentVersion.deploymentid"},
		{"deploymentVersion", "colour",
			`unknown field "colour" in deploymentVersion`, "deploymentVersion.colour"},
		{"", "ta",
			`unknown field "ta"; did you mean "tag"?`, "ta"},
	}
	for _, tt := range tests {
		err := UnknownField(tt.path, tt.name, known)
		if err.Message != tt.message || err.Field != tt.field || err.Code != EINVALID {
			t.Errorf("UnknownField(%q, %q) = %q (field %q, code %q), want %q (field %q)",
				tt.path, tt.name, err.Message, err.Field, err.Code, tt.message, tt.field)
		}
	}
}

func TestClosest(t *testing.T) {
	types := []string{"deployment.created", "deployment.updated", "deployment.deleted", "job.updated", "resource.created"}
	tests := []struct {
		name string
		n    int
		want []string
	}{
		{"deployment.create", 1, []string{"deployment.created"}},
		{"job.update", 2, []string{"job.updated", "deployment.updated"}},
		{"resource.crated", 1, []string{"resource.created"}},
		{"x", 10, []string{"job.updated", "resource.created", "deployment.created", "deployment.deleted", "deployment.updated"}},
	}
	for _, tt := range tests {
		if got := Closest(tt.name, types, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("Closest(%q, %d) = %q, want %q", tt.name, tt.n, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"status", "status", 0},
		{"stauts", "status", 1}, // a transposition
		{"nmae", "name", 1},
		{"statu", "status", 1},
		{"statuss", "status", 1},
		{"staus", "status", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
	}
	for _, tt := range tests {
		if got := EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := EditDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestNear(t *testing.T) {
	tests := []struct {
		name, candidate string
		want            bool
	}{
		{"stauts", "status", true},
		{"id", "ip", true}, // one edit is always near
		{"id", "tag", false},
		{"colour", "config", false},
		{"jobAgentConfg", "jobAgentConfig", true},
		{"fieldsToUpdat", "fieldsToUpdate", true},
	}
	for _, tt := range tests {
		if got := Near(tt.name, tt.candidate); got != tt.want {
			t.Errorf("Near(%q, %q) = %v, want %v", tt.name, tt.candidate, got, tt.want)
		}
	}
}
