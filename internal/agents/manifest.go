package agents

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Templated reports whether s holds a template, so validation of a config
// as written leaves its format checks to the rendered value.
func Templated(s string) bool { return strings.Contains(s, "{{") }

// Manifest decodes the manifest at key into out. The value is either an
// object (a manifest written as JSON in the config) or a string holding YAML
// or JSON (a manifest written as text, rendered as a whole). Decoding is
// strict: a field out does not have is an error naming it, as kubectl's
// strict validation would. Errors are EINVALID and name key.
func (c Config) Manifest(key string, out any) error {
	var data []byte
	switch v := c[key].(type) {
	case string:
		data = []byte(v)
	case map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			return model.Invalid(key, "%v", err)
		}
		data = b
	case nil:
		return model.Invalid(key, "is required")
	default:
		return model.Invalid(key, "must be a manifest (an object, or YAML or JSON text), got %T", v)
	}
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		return model.Invalid(key, "%v", err)
	}
	return nil
}

// PEM returns the PEM bytes at key, given either base64-encoded (as in a
// kubeconfig's certificate-authority-data) or as PEM text; nil when the key
// is absent. An error names key when the value is neither.
func (c Config) PEM(key string) ([]byte, error) {
	raw := c.String(key)
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, nil
	}
	data := []byte(raw)
	if !strings.HasPrefix(s, "-----BEGIN") {
		decoded, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, model.Invalid(key, "must be base64-encoded PEM: %v", err)
		}
		data = decoded
	}
	if block, _ := pem.Decode(data); block == nil {
		return nil, model.Invalid(key, "holds no PEM block")
	}
	return data, nil
}

// Bool returns the boolean at key, false when it is absent; "true" and
// "false" are accepted as strings (a rendered template). An error names key
// for anything else.
func (c Config) Bool(key string) (bool, error) {
	switch v := c[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		if v == "" {
			return false, nil
		}
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return false, model.Invalid(key, "must be true or false, got %s", fmt.Sprint(c[key]))
}
