package variables

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// literal turns a value found in an entity map into the form a decoded
// model.LiteralValue has, so a referenced value and a configured one are
// indistinguishable downstream (equal release content, equal release id):
// numbers become json.Number in canonical form, map[string]string becomes map[string]any, and
// objects and arrays are copied so the release never aliases the entity map
// it was read from (stored values are immutable).
func literal(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = literal(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = e
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = literal(e)
		}
		return out
	case int:
		return json.Number(strconv.Itoa(v))
	case int32:
		return json.Number(strconv.FormatInt(int64(v), 10))
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case uint64:
		return json.Number(strconv.FormatUint(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return v // not representable in JSON; leave it for the caller to reject
		}
		// The canonical text, as a configured literal's number has.
		b, _ := json.Marshal(v)
		return json.Number(model.CanonicalNumber(string(b)))
	}
	return v
}
