package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// logBuffer collects log output written from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
}

// duplicateKeys returns the keys that occur twice in one object of the
// JSON value in line, at any depth; encoding/json would keep the last and
// say nothing.
func duplicateKeys(line string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	var dups []string
	var value func() error
	value = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return err
				}
				k := key.(string)
				if seen[k] {
					dups = append(dups, k)
				}
				seen[k] = true
				if err := value(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := value(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := value(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("more than one value on the line")
	}
	return dups, nil
}

// checkJSONLines fails for a line that is not one JSON object with unique
// keys, or that gives a duration as anything but a number of milliseconds
// under a key ending in Ms; it returns the lines decoded.
func checkJSONLines(t *testing.T, lines []string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range lines {
		dups, err := duplicateKeys(line)
		if err != nil {
			t.Errorf("not one JSON value (%v): %s", err, line)
			continue
		}
		if len(dups) > 0 {
			t.Errorf("keys %v repeated: %s", dups, line)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("not a JSON object: %s", line)
			continue
		}
		for k, v := range m {
			lower := strings.ToLower(k)
			if strings.Contains(lower, "duration") || strings.Contains(lower, "timeout") || strings.HasSuffix(k, "Ms") {
				if _, isNumber := v.(float64); !isNumber || !strings.HasSuffix(k, "Ms") {
					t.Errorf("%s = %v: a duration must be a number of ms under a key ending in Ms: %s", k, v, line)
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// TestMain_JSONLogs runs a scripted workspace through a server logging JSON,
// restarts it, and reads every line it logged.
func TestMain_JSONLogs(t *testing.T) {
	logs := &logBuffer{}
	cfg := testConfig(sqltest.DSN(t, sqlstore.DialectSQLite))
	cfg.LogFormat, cfg.LogLevel, cfg.LogOutput = "json", "debug", logs
	rm := startMainWith(t, cfg)
	c := newAPIClient(t, rm.Addr(), "ws-logs")
	setupPipeline(c)
	c.mustApply("resource.created", fxResource("r1", "Cluster", map[string]string{}))
	c.postEnvelopes(c.event("resource.created", map[string]any{"id": "nameless"}))
	c.get("jobs/nope")
	if resp, err := http.Get("http://" + rm.Addr() + "/no/such/route"); err == nil {
		resp.Body.Close()
	}
	rm.stop(t)
	rm = startMainWith(t, cfg) // the restore logs too
	newAPIClient(t, rm.Addr(), "ws-logs").list("release-targets", "")
	rm.stop(t)

	byMsg := map[string][]map[string]any{}
	for _, m := range checkJSONLines(t, logs.lines()) {
		msg, _ := m["msg"].(string)
		byMsg[msg] = append(byMsg[msg], m)
	}
	requests := map[string]map[string]any{}
	for _, r := range byMsg["request"] {
		key := fmt.Sprintf("%s %s %v", r["method"], r["route"], r["status"])
		requests[key] = r
		if _, ok := r["durationMs"].(float64); !ok {
			t.Errorf("request line without a durationMs: %v", r)
		}
		if strings.Contains(r["route"].(string), "{ws}") && r["workspace"] != "ws-logs" {
			t.Errorf("request line without its workspace: %v", r)
		}
	}
	for _, want := range []struct{ key, level string }{
		{"POST /v1/workspaces/{ws}/events 202", "INFO"},
		{"POST /v1/workspaces/{ws}/events 400", "INFO"},
		{"GET /v1/workspaces/{ws}/jobs/{id} 404", "INFO"},
		{"GET unmatched 404", "INFO"},
		{"GET /v1/workspaces/{ws}/release-targets 200", "INFO"},
		{"GET /readyz 200", "DEBUG"},
	} {
		r, ok := requests[want.key]
		if !ok {
			t.Errorf("no request line for %s", want.key)
			continue
		}
		if r["level"] != want.level {
			t.Errorf("%s logged at %v, want %s", want.key, r["level"], want.level)
		}
	}
	decisions := byMsg["release target decision"]
	if len(decisions) != 1 || decisions[0]["resourceId"] != "r1" || decisions[0]["versionTag"] != "v1" ||
		len(decisions[0]["jobIds"].([]any)) != 1 {
		t.Errorf("want one decision line for r1's job, got %v", decisions)
	}
	restored := byMsg["workspace loaded"]
	if len(restored) != 1 || restored[0]["workspace"] != "ws-logs" || restored[0]["why"] != "restored" {
		t.Fatalf("want one line for ws-logs loaded as restored, got %v", restored)
	}
	if rows, _ := restored[0]["rows"].(map[string]any); rows["workspace"] != 1.0 || rows["job"] != 1.0 {
		t.Errorf("restore line's row counts: %v", restored[0]["rows"])
	}
}

// TestMain_LogLevel: warn keeps requests out; the levels are checked.
func TestMain_LogLevel(t *testing.T) {
	logs := &logBuffer{}
	cfg := testConfig("memory")
	cfg.LogFormat, cfg.LogLevel, cfg.LogOutput = "json", "warn", logs
	rm := startMainWith(t, cfg)
	c := newAPIClient(t, rm.Addr(), "ws-quiet")
	setupPipeline(c)
	rm.stop(t)
	for _, m := range checkJSONLines(t, logs.lines()) {
		if m["level"] == "INFO" || m["level"] == "DEBUG" {
			t.Errorf("logged below warn: %v", m)
		}
	}
	cfg.LogLevel = "verbose"
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "--log-level (GATEHOUSE_LOG_LEVEL)") {
		t.Errorf("a bad level: %v", err)
	}
}

// TestServe_FailureIsLogged: in JSON mode a start that fails prints only
// JSON lines, the failure among them.
func TestServe_FailureIsLogged(t *testing.T) {
	bin := buildGatehouse(t)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "missing", "dir", "gatehouse.db")
	out, code := runBinary(t, bin, nil, "serve", "--addr", freeAddr(t), "--db", dsn, "--log-format", "json")
	if code == 0 {
		t.Fatalf("serve started on %s:\n%s", dsn, out)
	}
	lines := checkJSONLines(t, strings.Split(strings.TrimRight(out, "\n"), "\n"))
	last := lines[len(lines)-1]
	if last["msg"] != "serve failed" || last["level"] != "ERROR" || !strings.Contains(fmt.Sprint(last["err"]), "open database") {
		t.Errorf("the last line is not the failure: %v", last)
	}
}

func TestDuplicateKeys(t *testing.T) {
	for line, want := range map[string]string{
		`{"a":1,"b":{"c":[{"d":1,"d":2}]}}`:     "d",
		`{"workspace":"w","n":1,"workspace":1}`: "workspace",
		`{"a":{"a":1},"b":[1,{"a":2}]}`:         "",
	} {
		dups, err := duplicateKeys(line)
		if err != nil || strings.Join(dups, ",") != want {
			t.Errorf("%s: duplicates %v (err %v), want %q", line, dups, err, want)
		}
	}
}
