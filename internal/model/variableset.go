package model

import (
	"strconv"
	"strings"
	"time"
)

// VariableSet is a named set of variable values for the release targets
// its Selector (CEL over resource, deployment and environment) matches.
// For a key a deployment declares, a set's value is used when neither a
// resource variable nor a deployment variable value resolves it, before
// the variable's default; of several sets, the highest Priority first.
type VariableSet struct {
	ID          string                `json:"id"`
	WorkspaceID string                `json:"workspaceId"`
	Name        string                `json:"name"`
	Description string                `json:"description,omitempty"`
	Selector    CELText               `json:"selector"`
	Priority    int64                 `json:"priority"`
	Variables   []VariableSetVariable `json:"variables"`
	CreatedAt   time.Time             `json:"createdAt"`
	UpdatedAt   time.Time             `json:"updatedAt"`
	Metadata    map[string]string     `json:"metadata,omitempty"`
}

// VariableSetVariable is one key of a variable set and its value (a
// literal, a reference or a sensitive value).
type VariableSetVariable struct {
	ID            string `json:"id,omitempty"`
	VariableSetID string `json:"variableSetId,omitempty"`
	Key           string `json:"key"`
	Value         Value  `json:"value"`
}

// Lookup returns the set's value for key.
func (s *VariableSet) Lookup(key string) (Value, bool) {
	for _, v := range s.Variables {
		if v.Key == key {
			return v.Value, true
		}
	}
	return Value{}, false
}

// Validate implements Validator.
func (s *VariableSet) Validate() error {
	if err := firstErr(required("variableSet.id", s.ID), required("variableSet.name", s.Name)); err != nil {
		return err
	}
	if strings.TrimSpace(string(s.Selector)) == "" {
		return Invalid("variableSet.selector", `is required; "true" applies the set to every release target`)
	}
	seen := map[string]int{}
	for i, v := range s.Variables {
		field := "variableSet.variables[" + strconv.Itoa(i) + "]"
		if err := required(field+".key", v.Key); err != nil {
			return err
		}
		if j, dup := seen[v.Key]; dup {
			return Invalid(field+".key", "%q is already the key of variables[%d]", v.Key, j)
		}
		seen[v.Key] = i
		if v.Value.Literal == nil && v.Value.Reference == nil && v.Value.Sensitive == nil {
			return Invalid(field+".value", "is required")
		}
		if err := v.Value.validate(field + ".value"); err != nil {
			return err
		}
	}
	return nil
}
