package engine

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Sealer encrypts sensitive values into their stored form and opens them.
// Each ciphertext is bound to where its value lives (see
// VariableValueBinding and ResourceVariableBinding): it opens only under
// that binding, so a ciphertext copied to another workspace or variable
// does not open there.
type Sealer interface {
	// Seal returns the stored form of clear, bound to binding, with its
	// keyed hash and the binding recorded.
	Seal(clear, binding string) (*model.SensitiveValue, error)
	// Open returns the clear text of v, which must have been sealed under
	// binding; the binding v carries is not consulted.
	Open(v *model.SensitiveValue, binding string) (string, error)
	// Hash returns the keyed hash Seal records for clear.
	Hash(clear string) string
}

// VariableValueBinding is the binding of the sealed value of deployment
// variable value id in workspace ws.
func VariableValueBinding(ws, id string) string {
	return sealBinding(ws, "deploymentVariableValue", id)
}

// ResourceVariableBinding is the binding of the sealed value of resource
// resourceID's variable key in workspace ws.
func ResourceVariableBinding(ws, resourceID, key string) string {
	return sealBinding(ws, "resourceVariable", resourceID, key)
}

// sealBinding joins path segments, each escaped, so that ids containing "/"
// cannot make two places share a binding.
func sealBinding(parts ...string) string {
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// errNoEncryptionKey is openSealed's error when a value is sealed and the
// engine has no Sealer to open it.
var errNoEncryptionKey = errors.New("no encryption key is configured")

// openSealed returns the clear text of a sealed config value (see
// SealedConfig); sealed is false, and nothing opened, for any other value.
func (e *Engine) openSealed(v any) (clear string, sealed bool, err error) {
	s, ok := SealedConfig(v)
	if !ok {
		return "", false, nil
	}
	if e.cfg.Sealer == nil {
		return "", true, errNoEncryptionKey
	}
	clear, err = e.cfg.Sealer.Open(s, s.Binding)
	return clear, true, err
}
