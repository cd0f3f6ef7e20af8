package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCanonicalNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"-0", "0"},
		{"42", "42"},
		{"-17", "-17"},
		{"9223372036854775807", "9223372036854775807"},
		{"1e2", "100"},
		{"1E2", "100"},
		{"1e+2", "100"},
		{"100.0", "100"},
		{"1.50", "1.5"},
		{"-0.0", "0"},
		{"0.1", "0.1"},
		{"1e-7", "0.0000001"},
		{"2.5e-3", "0.0025"},
		{"1e21", "1000000000000000000000"},
		{"3.14159265358979323846", "3.141592653589793"},
		{"1e400", "1e400"}, // out of range: left for the intake to refuse
	}
	for _, tt := range tests {
		if got := CanonicalNumber(tt.in); got != tt.want {
			t.Errorf("CanonicalNumber(%s) = %s, want %s", tt.in, got, tt.want)
		}
		if got := CanonicalNumber(tt.want); got != tt.want {
			t.Errorf("CanonicalNumber is not idempotent on %s: %s", tt.want, got)
		}
	}
}

func TestLiteralValue_CanonicalNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{`1e2`, `100`},
		{`-0`, `0`},
		{`"1e2"`, `"1e2"`}, // a string stays a string
		{`{"object": {"replicas": 3.0, "ratio": 2.50e-1, "list": [1e1, -0, "x"]}}`,
			`{"object":{"list":[10,0,"x"],"ratio":0.25,"replicas":3}}`},
		{`[1.0, 2]`, `[1,2]`},
		{`true`, `true`},
		{`null`, `null`},
	}
	for _, tt := range tests {
		var l LiteralValue
		if err := json.Unmarshal([]byte(tt.in), &l); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		got, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s reads back as %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestValue_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		name, in string
		// want is the value marshalled back; wantErr a text of the error.
		want, wantErr string
	}{
		{name: "literal", in: `"eu-west-1"`, want: `"eu-west-1"`},
		{name: "literal number", in: `1e3`, want: `1000`},
		{name: "literal object", in: `{"object": {"a": 1}}`, want: `{"object":{"a":1}}`},
		{name: "reference", in: `{"reference": "network", "path": ["metadata", "cidr"]}`,
			want: `{"reference":"network","path":["metadata","cidr"]}`},
		{name: "reference typo", in: `{"reference": "network", "pth": ["name"]}`,
			wantErr: `unknown field "pth" in reference value; did you mean "path"?`},
		{name: "reference not a string", in: `{"reference": 3}`, wantErr: `"reference" must be a string`},
		{name: "reference path not strings", in: `{"reference": "n", "path": [1]}`, wantErr: `"path" must be an array of strings`},
		{name: "sensitive short form", in: `{"sensitive": "hunter2"}`, want: `{"sensitive":{"value":"hunter2"}}`},
		{name: "sensitive object", in: `{"sensitive": {"ciphertext": "abc", "valueHash": "h"}}`,
			want: `{"sensitive":{"ciphertext":"abc","valueHash":"h"}}`},
		{name: "sensitive typo", in: `{"sensitive": {"valu": "x"}}`,
			wantErr: `unknown field "valu" in sensitive value; did you mean "value"?`},
		{name: "sensitive beside another field", in: `{"sensitive": "x", "reason": "y"}`,
			wantErr: `unknown field "reason" in sensitive value`},
		{name: "sensitive not a string", in: `{"sensitive": {"value": 3}}`, wantErr: `"value", "ciphertext", "valueHash", "binding" must be strings`},
		{name: "value hash", in: `{"valueHash": "h"}`, want: `{"sensitive":{"valueHash":"h"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v Value
			err := json.Unmarshal([]byte(tt.in), &v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSelector_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "cel", in: `{"cel": "true"}`, want: `{"cel":"true"}`},
		{name: "json with canonical numbers", in: `{"json": {"type": "version", "operator": "equals", "value": 1e1}}`,
			want: `{"json":{"operator":"equals","type":"version","value":10}}`},
		{name: "typo", in: `{"cell": "true"}`, wantErr: `unknown field "cell" in selector; did you mean "cel"?`},
		{name: "extra field", in: `{"cel": "true", "description": "x"}`, wantErr: `unknown field "description" in selector`},
		{name: "both", in: `{"cel": "true", "json": {}}`, wantErr: `both`},
		{name: "neither", in: `{}`, wantErr: `must have "cel" or "json"`},
		{name: "not an object", in: `"true"`, wantErr: `must be an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Selector
			err := json.Unmarshal([]byte(tt.in), &s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(s)
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
