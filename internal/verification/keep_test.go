package verification

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TestKept_LargeHTTPResponse: an HTTP measurement of a 1 MiB JSON response
// is judged on all of it but stored as its first 4 KiB, saying so.
func TestKept_LargeHTTPResponse(t *testing.T) {
	body := `{"healthy": true, "pad": "` + strings.Repeat("x", 1<<20) + `"}`
	srv, _ := server(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) })
	p, err := NewProvider(map[string]any{"type": "http", "url": srv.URL}, deps(srv))
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Measure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := &model.VerificationMetric{Name: "m", Count: 1, SuccessCondition: "result.json.healthy"}
	if status, msg := Judge(m, res); status != StatusPassed {
		t.Errorf("judged %s (%s), want passed on the whole body", status, msg)
	}
	kept := Kept(res)
	if b, _ := kept["body"].(string); b != body[:MaxKept] || kept["bodyTruncated"] != true || kept["bodyBytes"] != int64(len(body)) {
		t.Errorf("kept body of %d bytes, truncated %v, bytes %v", len(b), kept["bodyTruncated"], kept["bodyBytes"])
	}
	if _, ok := kept["json"]; ok || kept["jsonOmitted"] != true {
		t.Errorf("kept json %v, omitted %v; want it left out", ok, kept["jsonOmitted"])
	}
	if kept["statusCode"] != int64(200) || kept["ok"] != true {
		t.Errorf("small values not kept as they are: %v %v", kept["statusCode"], kept["ok"])
	}
	if len(res["body"].(string)) != len(body) {
		t.Error("Kept changed the result")
	}
}

func TestKept_CutsOnACharacter(t *testing.T) {
	s := strings.Repeat("é", MaxKept) // two bytes each
	kept := Kept(map[string]any{"body": "x" + s})["body"].(string)
	if len(kept) > MaxKept || !utf8.ValidString(kept) || len(kept) < MaxKept-1 {
		t.Errorf("kept %d bytes, valid UTF-8 %v", len(kept), utf8.ValidString(kept))
	}
	msg := KeptMessage("prometheus: " + strings.Repeat("€", 10_000))
	if len(msg) > MaxKept || !utf8.ValidString(msg) || !strings.HasSuffix(msg, "…") {
		t.Errorf("kept message of %d bytes, valid %v", len(msg), utf8.ValidString(msg))
	}
	if KeptMessage("short") != "short" {
		t.Error("a short message is changed")
	}
}

func TestBounded(t *testing.T) {
	for _, tc := range []struct {
		count, interval, wantCount, wantInterval int
	}{
		{1_000_000_000, 0, MaxCount, 1},
		{5, 0, 5, 1},
		{1, 0, 1, 0},
		{3, 60, 3, 60},
	} {
		m := &model.VerificationMetric{Count: tc.count, IntervalSeconds: tc.interval}
		b := Bounded(m)
		if b.Count != tc.wantCount || b.IntervalSeconds != tc.wantInterval {
			t.Errorf("Bounded(count %d, interval %d) = %d, %d; want %d, %d", tc.count, tc.interval,
				b.Count, b.IntervalSeconds, tc.wantCount, tc.wantInterval)
		}
		if m.Count != tc.count {
			t.Error("Bounded changed its argument")
		}
	}
}
