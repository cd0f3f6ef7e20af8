package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMain_ServesTheConsole: serve answers the console at / beside the
// API, which keeps its JSON errors; a commit reaches the console's live
// stream; and an open stream does not hold a graceful shutdown.
func TestMain_ServesTheConsole(t *testing.T) {
	cfg := testConfig("memory")
	cfg.ShutdownTimeout = 5 * time.Second
	rm := startMainWith(t, cfg)
	const ws = "22222222-2222-2222-2222-222222222222"
	c := newAPIClient(t, rm.Addr(), ws)
	c.mustApply("system.created", fxSystem("payments"))
	base := "http://" + rm.Addr()
	noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}

	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		says         string
	}{
		{"GET", "/", http.StatusSeeOther, "text/html", ""},
		{"GET", "/console/workspaces/" + ws, http.StatusOK, "text/html", "<h2>payments</h2>"},
		{"GET", "/console/static/console.js", http.StatusOK, "text/javascript", "text/event-stream"},
		{"GET", "/v1/nope", http.StatusNotFound, "application/json", `"code":"not_found"`},
		{"GET", "/favicon.ico", http.StatusNotFound, "application/json", `"code":"not_found"`},
		{"PUT", "/v1/workspaces", http.StatusMethodNotAllowed, "application/json", `"code":"invalid"`},
		{"GET", "/livez", http.StatusOK, "application/json", `"status":"ok"`},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) ||
			!strings.Contains(string(body), tc.says) {
			t.Errorf("%s %s: %d %s, want %d %s with %q\n%s", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), tc.status, tc.contentType, tc.says, body)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/console/workspaces/"+ws+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stream := bufio.NewReader(resp.Body)
	readBlock := func() string {
		t.Helper()
		var b strings.Builder
		for {
			line, err := stream.ReadString('\n')
			if err != nil {
				t.Fatalf("the stream ended: %v", err)
			}
			if line == "\n" {
				return b.String()
			}
			b.WriteString(line)
		}
	}
	readBlock() // open and subscribed
	c.mustApply("system.created", fxSystem("storefront"))
	if got := readBlock(); !strings.HasPrefix(got, "event: commit\n") {
		t.Errorf("after a commit the stream sent %q", got)
	}

	// Shut down with the stream open: Run returns nil (within the
	// shutdown timeout) and the stream ends.
	rm.closed = true
	rm.cancel()
	if err := <-rm.done; err != nil {
		t.Errorf("run with a live stream open: %v", err)
	}
	rm.Close()
	if _, err := stream.ReadString('\n'); err == nil {
		t.Error("the stream goes on after shutdown")
	}
}
