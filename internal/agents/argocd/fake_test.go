package argocd_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// gRPC codes Argo CD's API answers with, in grpc-gateway's error body.
const (
	codeInvalidArgument  = 3
	codeNotFound         = 5
	codePermissionDenied = 7
	codeUnauthenticated  = 16
)

// fakeArgoCD speaks the part of Argo CD's REST API the agent uses:
// bearer-token auth, POST /api/v1/applications (create, with ?upsert) and
// GET /api/v1/applications/{name} (with ?project and ?appNamespace), with
// grpc-gateway's error bodies.
type fakeArgoCD struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	apps     map[string]map[string]any // by name
	requests []request
	fail     *failure
	stop     chan struct{}
}

type request struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
}

type failure struct {
	status int
	header map[string]string
	body   string
	hang   bool
}

func newFakeArgoCD(t *testing.T, token string) *fakeArgoCD {
	t.Helper()
	f := &fakeArgoCD{t: t, token: token, apps: map[string]map[string]any{}, stop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/applications", f.handle(f.create))
	mux.HandleFunc("GET /api/v1/applications/{name}", f.handle(f.get))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) }) // first: ends hung requests
	return f
}

func grpcError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": msg, "code": code, "message": msg, "details": []any{}})
}

// handle records the request, checks the bearer token, and applies a
// canned failure before the real handler.
func (f *fakeArgoCD) handle(h func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, request{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
		fail := f.fail
		f.mu.Unlock()
		auth := r.Header.Get("Authorization")
		switch {
		case auth == "":
			grpcError(w, http.StatusUnauthorized, codeUnauthenticated, "no session information")
			return
		case auth != "Bearer "+f.token:
			grpcError(w, http.StatusUnauthorized, codeUnauthenticated, "invalid session: token signature is invalid")
			return
		}
		if fail != nil {
			if fail.hang {
				select {
				case <-r.Context().Done():
				case <-f.stop:
				}
				return
			}
			for k, v := range fail.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fail.status)
			io.WriteString(w, fail.body)
			return
		}
		h(w, r, body)
	}
}

// create is ApplicationService.Create: the body is the Application; an
// existing one with another spec is replaced only with upsert=true.
func (f *fakeArgoCD) create(w http.ResponseWriter, r *http.Request, body []byte) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		grpcError(w, http.StatusBadRequest, codeInvalidArgument, "unsupported content type "+ct)
		return
	}
	var app map[string]any
	if err := json.Unmarshal(body, &app); err != nil {
		grpcError(w, http.StatusBadRequest, codeInvalidArgument, err.Error())
		return
	}
	meta, _ := app["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		grpcError(w, http.StatusBadRequest, codeInvalidArgument, "application name is required")
		return
	}
	if _, ok := meta["namespace"]; !ok {
		meta["namespace"] = "argocd"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, exists := f.apps[name]
	if exists && !reflect.DeepEqual(old["spec"], app["spec"]) && r.URL.Query().Get("upsert") != "true" {
		grpcError(w, http.StatusBadRequest, codeInvalidArgument, "existing application spec is different, use upsert flag to force update")
		return
	}
	meta["uid"] = "0b5c4d1e-8f1a-4c4b-b3c1-6f0e5e1a2b3c"
	meta["resourceVersion"] = fmt.Sprint(len(f.requests))
	meta["creationTimestamp"] = "2030-03-04T10:00:00Z"
	if exists {
		app["status"] = old["status"]
	} else {
		app["status"] = map[string]any{}
	}
	f.apps[name] = app
	writeJSON(w, app)
}

// get is ApplicationService.Get. With a project named, a missing
// Application (or one of another project) is 404; without, 403, so as not
// to say whether it exists.
func (f *fakeArgoCD) get(w http.ResponseWriter, r *http.Request, _ []byte) {
	name := r.PathValue("name")
	project := r.URL.Query().Get("project")
	f.mu.Lock()
	app, ok := f.apps[name]
	f.mu.Unlock()
	if ok {
		spec, _ := app["spec"].(map[string]any)
		p, _ := spec["project"].(string)
		ok = project == "" || p == project
		ns, _ := app["metadata"].(map[string]any)["namespace"].(string)
		if want := r.URL.Query().Get("appNamespace"); want != "" && want != ns {
			ok = false
		}
	}
	switch {
	case !ok && project == "":
		grpcError(w, http.StatusForbidden, codePermissionDenied, "permission denied")
	case !ok:
		grpcError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("applications.argoproj.io %q not found", name))
	default:
		writeJSON(w, app)
	}
}

// setStatus plays Argo CD's application controller: status is the
// Application's status as JSON, with "$SOURCE" standing for the
// Application's current spec.source.
func (f *fakeArgoCD) setStatus(name, status string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	app := f.apps[name]
	src, _ := json.Marshal(app["spec"].(map[string]any)["source"])
	var st map[string]any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(status, "$SOURCE", string(src))), &st); err != nil {
		f.t.Fatalf("status: %v", err)
	}
	app["status"] = st
}

func (f *fakeArgoCD) last() request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		f.t.Fatal("Argo CD got no request")
	}
	return f.requests[len(f.requests)-1]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
