package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// LiteralValue is a plain JSON value: string, number, boolean, null, or an
// object (conventionally {"object": {...}}). It is kept as the caller sent
// it, except that numbers are written in their canonical form (see
// CanonicalNumber), so that releases and dispatch contexts show the
// configured value and a release id derived from it survives any database.
type LiteralValue struct {
	// V is the decoded value; numbers are json.Number so integers keep their
	// precision.
	V any
}

// MarshalJSON writes the value itself.
func (l LiteralValue) MarshalJSON() ([]byte, error) { return json.Marshal(l.V) }

// UnmarshalJSON reads any JSON value, numbers in canonical form.
func (l *LiteralValue) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	l.V = CanonicalNumbers(v)
	return nil
}

// CanonicalNumber returns the canonical text of the JSON number s: an
// integer (no fraction, no exponent) as its digits with -0 as 0, any other
// number as the shortest decimal without exponent that reads back as the
// same float64 (strconv.FormatFloat(f, 'f', -1, 64)). PostgreSQL's JSONB
// (which held documents before migration 00015) rewrites 1e2 as 100 but
// keeps these forms as written, so text that went through it compares (and
// hashes) equal to text that did not. A number
// outside float64's range is returned unchanged; the intake refuses those.
func CanonicalNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			return "0"
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	if f == 0 {
		// -0.0 would be written "-0", which no database keeps.
		return "0"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// CanonicalNumbers returns v, a value decoded with json.Decoder.UseNumber,
// with every json.Number in it (in maps and arrays too) in canonical form.
// Maps and arrays are changed in place.
func CanonicalNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		return json.Number(CanonicalNumber(string(v)))
	case map[string]any:
		for k, e := range v {
			v[k] = CanonicalNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = CanonicalNumbers(e)
		}
	}
	return v
}

// ReferenceValue names a related entity (by relationship rule reference) and
// a path into it.
type ReferenceValue struct {
	Reference string   `json:"reference"`
	Path      []string `json:"path"`
}

// SensitiveValue is a secret. On input it carries the clear text in Value;
// at rest and on every read only Ciphertext (or ValueHash) is kept.
type SensitiveValue struct {
	// Value is the clear text, present only on input and in dispatch contexts.
	Value string `json:"value,omitempty"`
	// Ciphertext is the sealed value as stored.
	Ciphertext string `json:"ciphertext,omitempty"`
	// ValueHash identifies the secret without revealing it.
	ValueHash string `json:"valueHash,omitempty"`
	// Binding names where the ciphertext belongs (its AEAD associated
	// data). It is written by the engine only; one given on input is
	// replaced, never trusted.
	Binding string `json:"binding,omitempty"`
}

// Value is a variable value: exactly one of a literal, a reference or a
// sensitive value.
type Value struct {
	Literal   *LiteralValue
	Reference *ReferenceValue
	Sensitive *SensitiveValue
}

// MarshalJSON writes the value in its wire shape.
func (v Value) MarshalJSON() ([]byte, error) {
	switch {
	case v.Reference != nil:
		return json.Marshal(v.Reference)
	case v.Sensitive != nil:
		return json.Marshal(map[string]any{"sensitive": v.Sensitive})
	case v.Literal != nil:
		return json.Marshal(v.Literal)
	}
	return []byte("null"), nil
}

// Field names of the shapes a Value takes besides a literal.
var (
	referenceFields = jsonNames(reflect.TypeFor[ReferenceValue]())
	sensitiveFields = jsonNames(reflect.TypeFor[SensitiveValue]())
)

// jsonNames returns the JSON field names of a struct type.
func jsonNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// UnmarshalJSON tells the three shapes apart: an object with "reference" is a
// reference, an object with "sensitive", or with "valueHash" alone, is
// sensitive, anything else is a literal. A reference or sensitive value with
// a field of neither shape is refused, so that a typo ("pth") is not
// silently dropped.
func (v *Value) UnmarshalJSON(b []byte) error {
	*v = Value{}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return err
		}
		if _, ok := probe["reference"]; ok {
			r, err := decodeReference(probe)
			if err != nil {
				return err
			}
			v.Reference = r
			return nil
		}
		if raw, ok := probe["sensitive"]; ok {
			if err := onlyFields(probe, "sensitive value", "sensitive"); err != nil {
				return err
			}
			s, err := decodeSensitive(raw)
			if err != nil {
				return err
			}
			v.Sensitive = s
			return nil
		}
		if raw, ok := probe["valueHash"]; ok && len(probe) == 1 {
			var hash string
			if err := json.Unmarshal(raw, &hash); err != nil {
				return fmt.Errorf("valueHash must be a string")
			}
			v.Sensitive = &SensitiveValue{ValueHash: hash}
			return nil
		}
	}
	var l LiteralValue
	if err := l.UnmarshalJSON(trimmed); err != nil {
		return err
	}
	v.Literal = &l
	return nil
}

func decodeReference(probe map[string]json.RawMessage) (*ReferenceValue, error) {
	if err := onlyFields(probe, "reference value", referenceFields...); err != nil {
		return nil, err
	}
	var r ReferenceValue
	if err := json.Unmarshal(probe["reference"], &r.Reference); err != nil {
		return nil, fmt.Errorf("reference value: \"reference\" must be a string")
	}
	if raw, ok := probe["path"]; ok {
		if err := json.Unmarshal(raw, &r.Path); err != nil {
			return nil, fmt.Errorf("reference value: \"path\" must be an array of strings")
		}
	}
	return &r, nil
}

// decodeSensitive reads the object form of a sensitive value, or the short
// form, the clear text as a string.
func decodeSensitive(raw json.RawMessage) (*SensitiveValue, error) {
	var clear string
	if json.Unmarshal(raw, &clear) == nil {
		return &SensitiveValue{Value: clear}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("sensitive value must be a string or an object")
	}
	if err := onlyFields(fields, "sensitive value", sensitiveFields...); err != nil {
		return nil, err
	}
	var s SensitiveValue
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("sensitive value: %s must be strings", strings.Join(quoted(sensitiveFields), ", "))
	}
	return &s, nil
}

// onlyFields refuses a field of obj that is not one of known, naming the
// closest known one.
func onlyFields(obj map[string]json.RawMessage, what string, known ...string) error {
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(known, name) {
			return UnknownField(what, name, known)
		}
	}
	return nil
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
