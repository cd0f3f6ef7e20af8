package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// decode reads an event payload into a T and validates it. Errors name the
// entity kind and, where JSON says so, the offending field.
func decode[T any](data json.RawMessage, kind string) (*T, error) {
	if len(bytes.TrimSpace(data)) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil, model.Invalid("data", "a %s is required", kind)
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, model.Invalid(kind, "%s", describeJSONError(err))
	}
	if val, ok := any(v).(model.Validator); ok {
		if err := val.Validate(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("field %s: cannot use a JSON %s as %s", field, te.Value, te.Type)
	}
	msg := err.Error()
	return strings.TrimPrefix(msg, "json: ")
}
