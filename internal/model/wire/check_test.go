package wire

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestCheck_RefusesPoison(t *testing.T) {
	tests := []struct {
		name, in       string
		message, field string
	}{
		{"escaped NUL in a value", `{"id": "r", "name": "a\u0000b"}`,
			`data.name: contains a NUL character (\u0000)`, "data.name"},
		{"escaped NUL deep in an open map", `{"config": {"list": [{"x": "ok"}, {"y": "\u0000"}]}}`,
			`data.config.list[1].y: contains a NUL character (\u0000)`, "data.config.list[1].y"},
		{"escaped NUL in a field name", `{"metadata": {"te\u0000am": "x"}}`,
			`data.metadata: a field name contains a NUL character (\u0000)`, "data.metadata"},
		{"raw NUL in a value", "{\"id\": \"r\", \"name\": \"a\x00b\"}",
			`data.name: contains a NUL byte`, "data.name"},
		{"raw NUL in a field name", "{\"metadata\": {\"te\x00am\": \"x\"}}",
			`data.metadata: contains a NUL byte`, "data.metadata"},
		{"raw NUL between values", "[1, \x00]",
			`data[1]: contains a NUL byte`, "data[1]"},
		{"a number beyond float64", `{"value": 1e400000}`,
			`data.value: number 1e400000 is out of range`, "data.value"},
		{"a negative number beyond float64", `{"value": [-1.5e309]}`,
			`data.value[0]: number -1.5e309 is out of range`, "data.value[0]"},
		{"an integer beyond int64", `{"priority": 9223372036854775808}`,
			`data.priority: integer 9223372036854775808 does not fit in 64 bits`, "data.priority"},
		{"a 200,000-digit integer", `{"n": ` + strings.Repeat("9", 200_000) + `}`,
			`data.n: integer 9999999999999999999999999999999999999999… (200000 bytes) does not fit in 64 bits`, "data.n"},
		{"a string over 1 MiB", `{"config": {"blob": "` + strings.Repeat("a", MaxStringBytes+1) + `"}}`,
			`data.config.blob: is 1048577 bytes long; at most 1048576 are allowed`, "data.config.blob"},
		{"a field name over 1024 bytes", `{"metadata": {"` + strings.Repeat("k", MaxNameBytes+1) + `": "v"}}`,
			`data.metadata: a field name is 1025 bytes long; at most 1024 are allowed`, "data.metadata"},
		{"malformed", `{"a": }`,
			`data: malformed JSON: missing value after object name at byte 6`, "data"},
		{"two values", `{} {}`, `data: malformed JSON: more than one value`, "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in), "data")
			var me *model.Error
			if !errors.As(err, &me) {
				t.Fatalf("error %v, want a *model.Error", err)
			}
			if me.Message != tt.message || me.Field != tt.field || me.Code != model.EINVALID {
				t.Errorf("got %q (field %q, code %s)\nwant %q (field %q)", me.Message, me.Field, me.Code, tt.message, tt.field)
			}
		})
	}
}

func TestCheck_Accepts(t *testing.T) {
	for _, in := range []string{
		``,
		`null`,
		`{}`,
		`{"id": "r", "name": "ü \u00e9 \ud83d\ude00", "config": {"a": [1, -0, 1.5e300, 9223372036854775807, -9223372036854775808, true, null]}}`,
		`{"tiny": 1e-400}`, // rounds to zero: a value float64 holds
		`{"blob": "` + strings.Repeat("a", MaxStringBytes) + `"}`,
		`{"` + strings.Repeat("k", MaxNameBytes) + `": 1}`,
		`[[], [[]], {"a": {"b": {}}}]`,
	} {
		if err := Check([]byte(in), "data"); err != nil {
			t.Errorf("%.60s: %v", in, err)
		}
	}
}
