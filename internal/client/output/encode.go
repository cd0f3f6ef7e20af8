package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Formats Encode writes.
const (
	JSON = "json"
	YAML = "yaml"
)

// Encode writes v (any JSON-encodable value, typically what the server
// sent) as indented JSON or as YAML, with secrets redacted. Every -o json
// and -o yaml of the CLI goes through it.
func Encode(w io.Writer, format string, v any) error {
	generic, err := toGeneric(v)
	if err != nil {
		return err
	}
	generic = Redact(generic)
	switch format {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(generic)
	case YAML:
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(yamlNumbers(generic)); err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		return enc.Close()
	}
	return fmt.Errorf("unknown output format %q (want json or yaml)", format)
}

// toGeneric turns v into maps, slices and json.Number through its JSON.
func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return out, nil
}

// yamlNumbers turns json.Number into int64 or float64, which YAML writes
// as numbers (a json.Number would come out as a quoted string).
func yamlNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = yamlNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = yamlNumbers(e)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return f
		}
	}
	return v
}

// Redacted replaces every secret the CLI would otherwise print.
const Redacted = "(redacted)"

// secretWords are the endings of keys whose values are secrets: an agent's
// token, apiKey or privateKey, a webhook's secret, a sealed ciphertext, a sensitive variable value.
var secretWords = []string{"token", "apikey", "api_key", "privatekey", "private_key", "password", "secret", "ciphertext", "credentials", "sensitive"}

// IsSecretKey reports whether a map key names a secret.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.HasSuffix(k, w) {
			return true
		}
	}
	return false
}

// Redact returns v with the values of secret keys replaced by Redacted,
// at any depth. Maps and slices of v are changed in place.
func Redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if IsSecretKey(k) && !isZeroValue(e) {
				x[k] = Redacted
				continue
			}
			x[k] = Redact(e)
		}
	case []any:
		for i, e := range x {
			x[i] = Redact(e)
		}
	}
	return v
}

func isZeroValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}
