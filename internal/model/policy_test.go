package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCELText_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    CELText
		wantErr string
	}{
		{"bare string", `"resource.kind == 'Cluster'"`, "resource.kind == 'Cluster'", ""},
		{"selector object", `{"cel": "resource.kind == 'Cluster'"}`, "resource.kind == 'Cluster'", ""},
		{"empty string", `""`, "", ""},
		{"json selector", `{"json": {"type": "kind"}}`, "", "selector must be a CEL string"},
		{"extra key", `{"cel": "true", "json": {}}`, "", "with no other key"},
		{"cel not a string", `{"cel": 3}`, "", `selector "cel" must be a string`},
		{"number", `3`, "", "selector must be a CEL string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Policy
			err := json.Unmarshal([]byte(`{"id": "p", "selector": `+tt.in+`}`), &p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Selector != tt.want {
				t.Errorf("selector = %q, want %q", p.Selector, tt.want)
			}
			out, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := json.Marshal(string(tt.want)); !strings.Contains(string(out), `"selector":`+string(want)) {
				t.Errorf("written back as %s, want the bare string", out)
			}
		})
	}
}
