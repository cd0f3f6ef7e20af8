package apply

import (
	"encoding/json"
	"reflect"
	"testing"
)

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiffer_Diff(t *testing.T) {
	d := &differ{ignore: []string{"createdAt", "workspaceId", "rules[].createdAt", "rules[].policyId"}}
	for _, tc := range []struct {
		name, want, have string
		paths            []string
	}{
		{"equal", `{"a": 1, "b": {"c": "x"}}`, `{"a": 1, "b": {"c": "x"}}`, nil},
		{"absent equals zero", `{"a": "x"}`, `{"a": "x", "b": "", "c": {}, "d": [], "e": null, "f": 0, "g": false}`, nil},
		{"zero equals absent", `{"a": "x", "config": {}}`, `{"a": "x"}`, nil},
		{"server-set fields are ignored", `{"rules": [{"id": "r0"}]}`, `{"createdAt": "2026-01-01T00:00:00Z", "workspaceId": "w", "rules": [{"id": "r0", "policyId": "p", "createdAt": "2026-01-01T00:00:00Z"}]}`, nil},
		{"a server-set field the manifest gives is compared", `{"createdAt": "2027-01-01T00:00:00Z"}`, `{"createdAt": "2026-01-01T00:00:00Z"}`, []string{"createdAt"}},
		{"changed nested value", `{"config": {"replicas": 3, "image": "a"}}`, `{"config": {"replicas": 2, "image": "a"}}`, []string{"config.replicas"}},
		{"key the manifest dropped", `{"config": {"image": "a"}}`, `{"config": {"image": "a", "debug": true}}`, []string{"config.debug"}},
		{"list element", `{"rules": [{"id": "r0", "anyApproval": {"minApprovals": 2}}]}`, `{"rules": [{"id": "r0", "anyApproval": {"minApprovals": 1}}]}`, []string{"rules[0].anyApproval.minApprovals"}},
		{"list of another length", `{"rules": [{"id": "r0"}, {"id": "r1"}]}`, `{"rules": [{"id": "r0"}]}`, []string{"rules"}},
		{"sensitive values are taken as equal", `{"value": {"sensitive": "clear"}}`, `{"value": {"sensitive": {"ciphertext": "c", "valueHash": "h"}}}`, nil},
		{"a literal that became sensitive", `{"value": {"sensitive": "clear"}}`, `{"value": "clear"}`, []string{"value"}},
		{"type change", `{"a": "1"}`, `{"a": 1}`, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for _, f := range d.diff(decodeJSON(t, tc.want), decodeJSON(t, tc.have)) {
				paths = append(paths, f.Path)
			}
			if !reflect.DeepEqual(paths, tc.paths) {
				t.Errorf("changed paths %v, want %v", paths, tc.paths)
			}
		})
	}
	resend := &differ{resendSecrets: true}
	if got := resend.diff(decodeJSON(t, `{"value": {"sensitive": "x"}}`), decodeJSON(t, `{"value": {"sensitive": {"valueHash": "h"}}}`)); len(got) != 1 {
		t.Errorf("with resendSecrets, a sensitive value is unchanged: %v", got)
	}
}

func TestDiffer_PreserveKeepsWhatTheServerFilledIn(t *testing.T) {
	d := &differ{ignore: []string{"createdAt", "rules[].createdAt"}}
	payload := decodeJSON(t, `{"id": "p", "rules": [{"id": "r0"}, {"id": "r1"}], "createdAt": "2027-01-01T00:00:00Z"}`)
	current := decodeJSON(t, `{"id": "p", "rules": [{"id": "r0", "createdAt": "2026-01-01T00:00:00Z"}], "createdAt": "2026-01-01T00:00:00Z", "other": 1}`)
	d.preserve(payload, current)
	want := decodeJSON(t, `{"id": "p", "rules": [{"id": "r0", "createdAt": "2026-01-01T00:00:00Z"}, {"id": "r1"}], "createdAt": "2027-01-01T00:00:00Z"}`)
	if !reflect.DeepEqual(payload, want) {
		t.Errorf("payload %v, want %v", payload, want)
	}
}

func TestInScope(t *testing.T) {
	for _, tc := range []struct {
		source string
		scope  []string
		want   bool
	}{
		{"examples/a.yaml", []string{"examples"}, true},
		{"examples/a.yaml", []string{"examples/"}, true},
		{"examples/a.yaml", []string{"examples/a.yaml"}, true},
		{"examples-old/a.yaml", []string{"examples"}, false},
		{"other/a.yaml", []string{"examples", "other"}, true},
		{"a.yaml", []string{"."}, true},
		{"", []string{"examples"}, false},
	} {
		if got := inScope(tc.source, tc.scope); got != tc.want {
			t.Errorf("inScope(%q, %v) = %v, want %v", tc.source, tc.scope, got, tc.want)
		}
	}
}
