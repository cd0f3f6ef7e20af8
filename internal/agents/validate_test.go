package agents_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

func TestConfig_URL(t *testing.T) {
	for _, tc := range []struct {
		value any
		ok    bool
	}{
		{nil, true},
		{"", true},
		{"https://argocd.example.com", true},
		{"http://127.0.0.1:8080/api/", true},
		{"https://{{.Environment.Name}}.example.com", true},
		{"argocd.example.com", false},
		{"/relative", false},
		{"ftp://files.example.com", false},
		{"https://", false},
		{42.0, false},
		{[]any{"https://x"}, false},
	} {
		err := agents.Config{"serverUrl": tc.value}.URL("serverUrl")
		if tc.ok && err != nil {
			t.Errorf("%v: %v", tc.value, err)
		}
		if !tc.ok && (err == nil || !strings.HasPrefix(err.Error(), "serverUrl: ")) {
			t.Errorf("%v: error = %v, want one naming serverUrl", tc.value, err)
		}
	}
}

func TestIsTerminalStatus(t *testing.T) {
	for s, want := range map[string]bool{
		"successful": true, "failure": true, "cancelled": true, "skipped": true,
		"invalidJobAgent": true, "invalidIntegration": true, "externalRunNotFound": true,
		"pending": false, "inProgress": false, "actionRequired": false, "done": false, "": false,
	} {
		if got := agents.IsTerminalStatus(s); got != want {
			t.Errorf("IsTerminalStatus(%q) = %v, want %v", s, got, want)
		}
	}
}
