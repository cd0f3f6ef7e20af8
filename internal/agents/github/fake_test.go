package github_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// The app's key, made once: RSA key generation is slow.
var (
	keyOnce sync.Once
	appKey  *rsa.PrivateKey
	appPEM  string
)

func testKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		appKey = k
		appPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	})
	return appKey, appPEM
}

// apiPrefix is where the fake serves its API, as a GitHub Enterprise
// Server does, so that tests prove baseUrl carries the token exchange too.
const apiPrefix = "/api/v3"

// answer is a canned failure for one route.
type answer struct {
	status int
	header map[string]string
	body   string
}

// fakeGitHub speaks the parts of GitHub's REST API the agent uses: the
// installation token exchange (checking the app's RS256 JWT against the
// app's public key), workflow dispatches, and workflow runs.
type fakeGitHub struct {
	t              *testing.T
	srv            *httptest.Server
	appID          int64
	installationID int64
	public         *rsa.PublicKey

	mu         sync.Mutex
	tokens     []string          // issued installation tokens
	dispatches []dispatchRequest // dispatch requests that were accepted
	runs       []map[string]any  // workflow runs, newest first
	listed     []url.Values      // queries of run lists
	fail       map[string]answer // route → the answer it gives instead
	hang       map[string]bool   // route → never answers
	stop       chan struct{}     // closed at cleanup, ending hung requests
}

type dispatchRequest struct {
	owner, repo, workflow string
	body                  string
	auth                  string
}

func newFakeGitHub(t *testing.T, appID, installationID int64) *fakeGitHub {
	t.Helper()
	key, _ := testKey(t)
	f := &fakeGitHub{t: t, appID: appID, installationID: installationID, public: &key.PublicKey,
		fail: map[string]answer{}, hang: map[string]bool{}, stop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+apiPrefix+"/app/installations/{id}/access_tokens", f.route("token", f.exchange))
	mux.HandleFunc("POST "+apiPrefix+"/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", f.route("dispatch", f.authed(f.dispatch)))
	mux.HandleFunc("GET "+apiPrefix+"/repos/{owner}/{repo}/actions/workflows/{workflow}/runs", f.route("list", f.authed(f.listRuns)))
	mux.HandleFunc("GET "+apiPrefix+"/repos/{owner}/{repo}/actions/runs/{run}", f.route("run", f.authed(f.getRun)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) }) // runs first: cleanups run last in, first out
	return f
}

// baseURL is the config's baseUrl for this fake.
func (f *fakeGitHub) baseURL() string { return f.srv.URL + apiPrefix + "/" }

func (f *fakeGitHub) failWith(route string, a answer) { f.mu.Lock(); f.fail[route] = a; f.mu.Unlock() }

// route wraps a handler with the canned failures and hangs of its route.
func (f *fakeGitHub) route(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.github") {
			f.t.Errorf("%s: Accept = %q, want GitHub's media type", name, r.Header.Get("Accept"))
		}
		f.mu.Lock()
		a, failing := f.fail[name]
		hang := f.hang[name]
		f.mu.Unlock()
		if hang {
			select {
			case <-r.Context().Done():
			case <-f.stop:
			}
			return
		}
		if failing {
			for k, v := range a.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(a.status)
			io.WriteString(w, a.body)
			return
		}
		h(w, r)
	}
}

// exchange is POST /app/installations/{id}/access_tokens: the bearer must
// be a JWT signed RS256 by the app's key, issued by the app, expiring
// within ten minutes.
func (f *fakeGitHub) exchange(w http.ResponseWriter, r *http.Request) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
		if tok.Method != jwt.SigningMethodRS256 {
			return nil, fmt.Errorf("alg %v", tok.Header["alg"])
		}
		return f.public, nil
	})
	if err != nil || claims.IssuedAt == nil || claims.ExpiresAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if claims.Issuer != strconv.FormatInt(f.appID, 10) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Integration not found", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if r.PathValue("id") != strconv.FormatInt(f.installationID, 10) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"})
		return
	}
	f.mu.Lock()
	token := fmt.Sprintf("ghs_fake%032d", len(f.tokens)+1)
	f.tokens = append(f.tokens, token)
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": token, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"permissions": map[string]any{"actions": "write", "metadata": "read"}, "repository_selection": "selected",
	})
}

// authed checks the installation token, as "token …" or "Bearer …".
func (f *fakeGitHub) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "token ")
		if !ok {
			tok, ok = strings.CutPrefix(auth, "Bearer ")
		}
		f.mu.Lock()
		known := false
		for _, t := range f.tokens {
			known = known || t == tok
		}
		f.mu.Unlock()
		if !ok || !known {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
			return
		}
		h(w, r)
	}
}

func (f *fakeGitHub) dispatch(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("dispatch Content-Type = %q", ct)
	}
	f.mu.Lock()
	f.dispatches = append(f.dispatches, dispatchRequest{r.PathValue("owner"), r.PathValue("repo"), r.PathValue("workflow"),
		strings.TrimSpace(string(body)), r.Header.Get("Authorization")})
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// listRuns is GET …/workflows/{workflow}/runs with GitHub's filters event
// and created (">=" + an ISO 8601 time), paged by per_page and page with a
// Link header.
func (f *fakeGitHub) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.listed = append(f.listed, q)
	runs := append([]map[string]any(nil), f.runs...)
	f.mu.Unlock()
	var since time.Time
	if c := q.Get("created"); c != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, strings.TrimPrefix(c, ">=")); err != nil || !strings.HasPrefix(c, ">=") {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest"})
			return
		}
	}
	var matched []map[string]any
	for _, run := range runs {
		created, _ := time.Parse(time.RFC3339, run["created_at"].(string))
		if (q.Get("event") == "" || run["event"] == q.Get("event")) && !created.Before(since) &&
			(run["path"] == ".github/workflows/"+r.PathValue("workflow") || fmt.Sprint(run["workflow_id"]) == r.PathValue("workflow")) {
			matched = append(matched, run)
		}
	}
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 || perPage > 100 {
		perPage = 30
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	from, to := min((page-1)*perPage, len(matched)), min(page*perPage, len(matched))
	if to < len(matched) {
		next := *r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(page+1))
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, f.srv.URL, next.RequestURI()))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(matched), "workflow_runs": matched[from:to]})
}

func (f *fakeGitHub) getRun(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, run := range f.runs {
		if fmt.Sprint(run["id"]) == r.PathValue("run") {
			writeJSON(w, http.StatusOK, run)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run", "status": "404"})
}

// addRun records a run as GitHub shows it.
func (f *fakeGitHub) addRun(id int64, title, status, conclusion string, created time.Time) map[string]any {
	run := map[string]any{
		"id": id, "name": "Deploy", "node_id": "WFR_kwLOA" + strconv.FormatInt(id, 10),
		"head_branch": "main", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
		"path": ".github/workflows/deploy.yml", "display_title": title, "run_number": id % 1000, "event": "workflow_dispatch",
		"status": status, "conclusion": nil, "workflow_id": int64(161335), "check_suite_id": id + 7,
		"url":         fmt.Sprintf("https://api.github.com/repos/acme/shop/actions/runs/%d", id),
		"html_url":    fmt.Sprintf("https://github.com/acme/shop/actions/runs/%d", id),
		"created_at":  created.UTC().Format(time.RFC3339),
		"updated_at":  created.Add(time.Minute).UTC().Format(time.RFC3339),
		"run_attempt": 1, "run_started_at": created.UTC().Format(time.RFC3339),
	}
	if conclusion != "" {
		run["conclusion"] = conclusion
	}
	f.mu.Lock()
	f.runs = append([]map[string]any{run}, f.runs...)
	f.mu.Unlock()
	return run
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
