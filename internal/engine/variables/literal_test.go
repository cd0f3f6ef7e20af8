package variables

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TestLiteral_MatchesAConfiguredValue checks that a number read from an
// entity map (a float64 after encoding/json) becomes the same value a
// configured literal with that number decodes to.
func TestLiteral_MatchesAConfiguredValue(t *testing.T) {
	for _, text := range []string{`3`, `0.5`, `1e21`, `1e-7`, `-0`, `{"a": [1.5, 2e3]}`} {
		var fromMap any
		if err := json.Unmarshal([]byte(text), &fromMap); err != nil {
			t.Fatal(err)
		}
		var configured model.LiteralValue
		if err := json.Unmarshal([]byte(text), &configured); err != nil {
			t.Fatal(err)
		}
		if got := literal(fromMap); !reflect.DeepEqual(got, configured.V) {
			t.Errorf("%s: referenced %#v, configured %#v", text, got, configured.V)
		}
	}
}
