// Package clienttest runs a real Gatehouse API for the tests of the client
// and the CLI: the engine over a SQLite database in t.TempDir(), served by
// the HTTP handler of internal/api through httptest, with a fixed clock so
// that what the tests print is the same on every run.
package clienttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/api"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// Start is the instant the server's clock shows until a test moves it.
var Start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// Key is the encryption key the server seals sensitive values with.
const Key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// Options configure a Server.
type Options struct {
	// Token, when set, is required as the bearer token.
	Token string
	// Named are named tokens (as in --tokens-file) the server also takes:
	// approvals sent with one are recorded for its holder.
	Named []auth.Entry
}

// Server is a running API.
type Server struct {
	t *testing.T
	// URL is the server's base URL.
	URL string

	mu    sync.Mutex
	now   time.Time
	posts [][]byte
}

// New starts a server, stopped when the test ends.
func New(t *testing.T, opt Options) *Server {
	t.Helper()
	db := sqltest.Open(t, sqlstore.DialectSQLite)
	sealer, err := secrets.New(Key)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, now: Start}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(engine.Config{Persister: db, Loader: db, Clock: s.Now, Logger: quiet, Sealer: sealer,
		// Timers never fire: a test moves time itself and asks for a tick.
		AfterFunc: func(time.Duration, func()) interface{ Stop() bool } { return idle{} }})
	tokens, err := auth.New(opt.Token, opt.Named)
	if err != nil {
		t.Fatal(err)
	}
	handler := api.New(eng, api.Config{Token: opt.Token, Tokens: tokens, Logger: quiet})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
			body, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			s.posts = append(s.posts, body)
			s.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		eng.Close()
	})
	s.URL = srv.URL
	return s
}

type idle struct{}

func (idle) Stop() bool { return true }

// Now is the server's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the server's clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// Posts returns how many event batches the server received so far.
func (s *Server) Posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.posts)
}

// LastPost returns the last event batch received, decoded.
func (s *Server) LastPost() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.posts) == 0 {
		return nil
	}
	var out []map[string]any
	if err := json.Unmarshal(s.posts[len(s.posts)-1], &out); err != nil {
		s.t.Fatalf("last post: %v", err)
	}
	return out
}

// Send posts events to workspace ws the way a producer would and fails the
// test unless they are accepted. Each event is {"eventType", "data"}.
func (s *Server) Send(ws, token string, events ...map[string]any) {
	s.t.Helper()
	body, err := json.Marshal(events)
	if err != nil {
		s.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+"/v1/workspaces/"+ws+"/events", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("POST events: %d %s", resp.StatusCode, answer)
	}
}

// Get reads path under /v1/workspaces/{ws}/ and decodes the answer into out.
func (s *Server) Get(ws, token, path string, out any) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/v1/workspaces/"+ws+"/"+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
}
