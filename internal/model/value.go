package model

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// LiteralValue is a plain JSON value: string, number, boolean, null, or an
// object (conventionally {"object": {...}}). It is kept as the caller sent it
// so that releases and dispatch contexts show exactly the configured value.
type LiteralValue struct {
	// V is the decoded value; numbers are json.Number so integers keep their
	// precision.
	V any
}

// MarshalJSON writes the value itself.
func (l LiteralValue) MarshalJSON() ([]byte, error) { return json.Marshal(l.V) }

// UnmarshalJSON reads any JSON value.
func (l *LiteralValue) UnmarshalJSON(b []byte) error {
	v, err := decodeAny(b)
	if err != nil {
		return err
	}
	l.V = v
	return nil
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

// UnmarshalJSON tells the three shapes apart: an object with "reference" is a
// reference, an object with "sensitive" or "valueHash" is sensitive, anything
// else is a literal.
func (v *Value) UnmarshalJSON(b []byte) error {
	*v = Value{}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return err
		}
		if _, ok := probe["reference"]; ok {
			var r ReferenceValue
			if err := json.Unmarshal(trimmed, &r); err != nil {
				return fmt.Errorf("reference value: %w", err)
			}
			v.Reference = &r
			return nil
		}
		if raw, ok := probe["sensitive"]; ok {
			var s SensitiveValue
			if err := json.Unmarshal(raw, &s); err != nil {
				// {"sensitive": "clear text"} is the short form.
				var clear string
				if json.Unmarshal(raw, &clear) != nil {
					return fmt.Errorf("sensitive value must be a string or an object")
				}
				s = SensitiveValue{Value: clear}
			}
			v.Sensitive = &s
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

func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
