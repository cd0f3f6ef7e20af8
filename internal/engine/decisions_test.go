package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// decisionLines returns the decision log lines written to buf, decoded.
func decisionLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if m["msg"] == "release target decision" {
			out = append(out, m)
		}
	}
	buf.Reset()
	return out
}

func TestEngine_LogsDecisions(t *testing.T) {
	var buf bytes.Buffer
	h := newHarnessWith(t, Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	world(h, "r1", "r2")
	if got := decisionLines(t, &buf); len(got) != 0 {
		t.Fatalf("decisions logged before any version: %v", got)
	}

	h.must("deployment-version.created", version("v1", time.Time{}, ""))
	lines := decisionLines(t, &buf)
	if len(lines) != 2 {
		t.Fatalf("want one decision line per target, got %d: %v", len(lines), lines)
	}
	for _, l := range lines {
		key := prodKey(l["resourceId"].(string))
		j := h.onlyJob(key)
		jobs, _ := l["jobIds"].([]any)
		if l["workspace"] != h.ws || l["releaseTarget"] != key || l["environmentId"] != "prod" || l["deploymentId"] != "api" ||
			l["versionTag"] != "v1" || l["releaseId"] != j.ReleaseID || l["previousReleaseId"] != "" ||
			len(jobs) != 1 || jobs[0] != j.ID || l["level"] != "INFO" {
			t.Errorf("decision line %v does not describe job %s of release %s", l, j.ID, j.ReleaseID)
		}
	}

	// A batch whose second event fails: the event before the failure stays
	// applied and its decision is logged; the failing one logs none.
	ok, _ := json.Marshal(resource("r3", nil))
	bad, _ := json.Marshal(map[string]any{"id": "x"})
	err := h.eng.Apply(context.Background(), h.ws, []Event{{Type: "resource.created", Data: ok}, {Type: "resource.created", Data: bad}})
	if err == nil {
		t.Fatal("the bad resource was accepted")
	}
	lines = decisionLines(t, &buf)
	if len(lines) != 1 || lines[0]["resourceId"] != "r3" {
		t.Fatalf("want the one decision of the applied event, got %v", lines)
	}

	// No change, no line: an event that leaves every target as it was.
	h.must("system.updated", system("s"))
	if lines := decisionLines(t, &buf); len(lines) != 0 {
		t.Errorf("an event that decided nothing logged %v", lines)
	}
	// A newer version while jobs are in flight changes the desired release
	// but creates no job.
	h.must("deployment-version.created", version("v2", time.Time{}, ""))
	lines = decisionLines(t, &buf)
	if len(lines) != 3 {
		t.Fatalf("want 3 decision lines for v2, got %v", lines)
	}
	for _, l := range lines {
		if l["versionTag"] != "v2" || l["previousReleaseId"] == "" || l["previousReleaseId"] == l["releaseId"] ||
			len(l["jobIds"].([]any)) != 0 {
			t.Errorf("line %v is not a change of desired release without jobs", l)
		}
	}
}
