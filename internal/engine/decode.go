package engine

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
)

// Payloads are read strictly: decodeKey and decode for an entity (named by
// its kind, "deployment-version" or "deploymentVersion"), wire.Decode
// directly for a payload that wraps others (root "", so its fields are
// named alone: "job.status", "fieldsToUpdate"). Apply has already run
// wire.Check on every payload, so handlers see no poison.

// decodeKey reads an entity payload strictly (wire.Decode) without
// validating it: deletes need only the identity, and upserts validate
// after filling defaults. Errors name fields under the kind's name
// ("deploymentVersion.stauts").
func decodeKey[T any](data json.RawMessage, kind string) (*T, error) {
	root := fieldName(kind)
	if isEmpty(data) {
		return nil, model.Invalid("data", "a %s is required", root)
	}
	v := new(T)
	if err := wire.Decode(data, v, root); err != nil {
		return nil, err
	}
	return v, nil
}

// decode reads an entity payload like decodeKey and validates it.
func decode[T any](data json.RawMessage, kind string) (*T, error) {
	v, err := decodeKey[T](data, kind)
	if err != nil {
		return nil, err
	}
	if val, ok := any(v).(model.Validator); ok {
		if err := val.Validate(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func isEmpty(data json.RawMessage) bool {
	t := bytes.TrimSpace(data)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// fieldName turns an event kind into the name its fields are reported
// under: "deployment-version" becomes "deploymentVersion".
func fieldName(kind string) string {
	parts := strings.Split(kind, "-")
	for i := 1; i < len(parts); i++ {
		if p := parts[i]; p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}
