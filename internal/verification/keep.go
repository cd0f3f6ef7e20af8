package verification

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// MaxKept is how much of each value of a measurement is stored: the
// conditions see the whole result, but a response of megabytes stored with
// each of up to MaxCount measurements would swell the database.
const MaxKept = 4 << 10

// Kept returns what is stored of a measurement's result: every value whose
// JSON is at most MaxKept bytes as it is; a longer string cut to MaxKept
// bytes, with "<key>Truncated": true and "<key>Bytes" its full length (so
// result.body of an HTTP measurement keeps its first 4 KiB); any other
// longer value (a parsed body, a long series) left out, with
// "<key>Omitted": true and "<key>Bytes" the length of its JSON. The result
// itself is not changed.
func Kept(result map[string]any) map[string]any {
	if result == nil {
		return nil
	}
	out := make(map[string]any, len(result))
	for k, v := range result {
		if s, ok := v.(string); ok {
			if len(s) <= MaxKept {
				out[k] = s
				continue
			}
			out[k] = cut(s, MaxKept)
			out[k+"Truncated"], out[k+"Bytes"] = true, int64(len(s))
			continue
		}
		b, err := json.Marshal(v)
		switch {
		case err != nil:
			out[k+"Omitted"] = true
		case len(b) > MaxKept:
			out[k+"Omitted"], out[k+"Bytes"] = true, int64(len(b))
		default:
			out[k] = v
		}
	}
	return out
}

// KeptMessage is a measurement's message as stored: at most MaxKept bytes
// (an error may quote a whole response).
func KeptMessage(s string) string {
	if len(s) <= MaxKept {
		return s
	}
	return cut(s, MaxKept-len("…")) + "…"
}

// cut returns at most n bytes of s, ending on a character boundary.
func cut(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Bounded returns the metric as it is measured: its count at most MaxCount
// and, when it has more than one measurement, at least a second between
// them. Metrics written since ValidateMetric enforces this are unchanged;
// one stored before cannot measure without end or without pause.
func Bounded(m *model.VerificationMetric) *model.VerificationMetric {
	if m.Count <= MaxCount && (m.Count <= 1 || m.IntervalSeconds >= 1) {
		return m
	}
	b := *m
	b.Count = min(b.Count, MaxCount)
	if b.Count > 1 {
		b.IntervalSeconds = max(b.IntervalSeconds, 1)
	}
	return &b
}
