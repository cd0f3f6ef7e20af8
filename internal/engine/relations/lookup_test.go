package relations

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestLookup(t *testing.T) {
	entity := map[string]any{
		"identifier": "net-1",
		"metadata":   map[string]any{"vpc": "v"},
		"labels":     map[string]string{"team": "core"},
		"config": map[string]any{
			"a":     map[string]any{"b": json.Number("7")},
			"hosts": []any{"h0", "h1"},
			"null":  nil,
		},
	}
	tests := []struct {
		name   string
		path   []string
		want   any
		wantOK bool
	}{
		{"top-level field", []string{"identifier"}, "net-1", true},
		{"metadata key", []string{"metadata", "vpc"}, "v", true},
		{"string map", []string{"labels", "team"}, "core", true},
		{"nested config", []string{"config", "a", "b"}, json.Number("7"), true},
		{"object", []string{"config", "a"}, map[string]any{"b": json.Number("7")}, true},
		{"array index", []string{"config", "hosts", "1"}, "h1", true},
		{"array index out of range", []string{"config", "hosts", "2"}, nil, false},
		{"array non-index", []string{"config", "hosts", "x"}, nil, false},
		{"missing key", []string{"metadata", "nope"}, nil, false},
		{"missing top level", []string{"nope"}, nil, false},
		{"through a scalar", []string{"identifier", "x"}, nil, false},
		{"null is absent", []string{"config", "null"}, nil, false},
		{"empty path is the entity", nil, entity, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lookup(entity, tt.path)
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Lookup = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if _, ok := Lookup(nil, []string{"x"}); ok {
		t.Error("Lookup(nil) found a value")
	}
}

func TestScalarString(t *testing.T) {
	tests := []struct {
		in     any
		want   string
		wantOK bool
	}{
		{"s", "s", true},
		{true, "true", true},
		{int64(3), "3", true},
		{3, "3", true},
		{3.0, "3", true},
		{2.5, "2.5", true},
		{1e21, "1000000000000000000000", true},
		{json.Number("42"), "42", true},
		{map[string]any{}, "", false},
		{[]any{"a"}, "", false},
	}
	for _, tt := range tests {
		got, ok := scalarString(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("scalarString(%#v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
