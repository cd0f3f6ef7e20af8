package model

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Selector chooses entities either by a CEL expression or by a JSON condition
// tree. Exactly one of CEL and JSON is set. A nil *Selector (absent or JSON
// null on the wire) matches nothing.
type Selector struct {
	// CEL is the expression text of {"cel": "..."}; nil when JSON is used.
	CEL *string
	// JSON is the condition tree of {"json": {...}}; nil when CEL is used.
	JSON map[string]any
}

// CELSelector returns a selector holding the CEL expression expr.
func CELSelector(expr string) *Selector { return &Selector{CEL: &expr} }

// MarshalJSON writes {"cel": ...} or {"json": ...}.
func (s Selector) MarshalJSON() ([]byte, error) {
	if s.CEL != nil {
		return json.Marshal(map[string]string{"cel": *s.CEL})
	}
	return json.Marshal(map[string]any{"json": s.JSON})
}

// selectorFields are the fields of a selector object.
var selectorFields = []string{"cel", "json"}

// UnmarshalJSON accepts {"cel": "..."} or {"json": {...}}, and rejects
// anything else so that a typo never silently becomes "match nothing".
// Numbers in a JSON tree are kept in canonical form (CanonicalNumber).
func (s *Selector) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return fmt.Errorf("selector must be an object with \"cel\" or \"json\"")
	}
	if err := onlyFields(raw, "selector", selectorFields...); err != nil {
		return err
	}
	cel, hasCEL := raw["cel"]
	js, hasJSON := raw["json"]
	switch {
	case hasCEL && hasJSON:
		return fmt.Errorf("selector has both \"cel\" and \"json\"")
	case hasCEL:
		var expr string
		if err := json.Unmarshal(cel, &expr); err != nil {
			return fmt.Errorf("selector \"cel\" must be a string")
		}
		*s = Selector{CEL: &expr}
	case hasJSON:
		var tree map[string]any
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil || tree == nil {
			return fmt.Errorf("selector \"json\" must be an object")
		}
		*s = Selector{JSON: CanonicalNumbers(tree).(map[string]any)}
	default:
		return fmt.Errorf("selector must have \"cel\" or \"json\"")
	}
	return nil
}
