package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the logged lines containing every one of parts.
func (b *syncBuffer) lines(parts ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		match := l != ""
		for _, p := range parts {
			match = match && strings.Contains(l, p)
		}
		if match {
			out = append(out, l)
		}
	}
	return out
}

// TestServer_LogsUnavailableOncePerEpisode makes the database fail every
// write (a real SQLite database whose statements are refused): many 503
// answers give one ERROR line per workspace with the cause, until a
// successful write ends the episode; the next failure starts a new one.
func TestServer_LogsUnavailableOncePerEpisode(t *testing.T) {
	var failing atomic.Bool
	db := sqltest.Open(t, sqlstore.DialectSQLite, sqlstore.WithStatementHook(func(int) error {
		if failing.Load() {
			return model.Errorf(model.EUNAVAILABLE, "disk on fire")
		}
		return nil
	}))
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	ts := newTestServer(t, engine.Config{Persister: db, Logger: logger}, Config{Logger: logger})
	post := func(ws, id string) int {
		t.Helper()
		body := `{"eventType": "system.created", "workspaceId": "` + ws + `", "data": {"id": "` + id + `", "name": "s"}}`
		status, _ := ts.do(http.MethodPost, "/v1/workspaces/"+ws+"/events", body)
		return status
	}
	errorLines := func(ws string) int { return len(logs.lines("level=ERROR", "workspace="+ws, "disk on fire")) }

	if status := post("ws-a", "s0"); status != http.StatusAccepted {
		t.Fatalf("first write: %d", status)
	}
	failing.Store(true)
	for i := range 30 {
		if status := post("ws-a", "s1"); status != http.StatusServiceUnavailable {
			t.Fatalf("write %d while failing: %d, want 503", i, status)
		}
	}
	if status := post("ws-b", "s1"); status != http.StatusServiceUnavailable {
		t.Fatalf("write to ws-b while failing: %d, want 503", status)
	}
	if n := errorLines("ws-a"); n != 1 {
		t.Errorf("30 refused writes to ws-a logged %d ERROR lines with the cause, want 1:\n%s", n, logs.lines("level=ERROR"))
	}
	if n := errorLines("ws-b"); n != 1 {
		t.Errorf("ws-b: %d ERROR lines with the cause, want 1", n)
	}

	failing.Store(false)
	if status := post("ws-a", "s2"); status != http.StatusAccepted {
		t.Fatalf("write after the failure: %d", status)
	}
	if got := logs.lines("level=INFO", "workspace=ws-a", "refused=30"); len(got) != 1 {
		t.Errorf("the end of ws-a's episode logged %q, want one line with the 30 refused", got)
	}
	failing.Store(true)
	post("ws-a", "s3")
	post("ws-a", "s3")
	if n := errorLines("ws-a"); n != 2 {
		t.Errorf("a second episode of ws-a: %d ERROR lines in all, want 2", n)
	}
	// ws-b's episode is still on: no new line for it.
	post("ws-b", "s3")
	if n := errorLines("ws-b"); n != 1 {
		t.Errorf("ws-b, still failing: %d ERROR lines, want 1", n)
	}
}
