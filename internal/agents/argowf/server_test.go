package argowf

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// argoServer answers the Workflow endpoints of the Argo Server REST API as
// it does through grpc-gateway: bearer tokens, 200 for a create, a
// WorkflowList whose items are null when nothing matches, label selectors
// in listOptions.labelSelector, and errors as {"code": <gRPC code>,
// "message": …} with the matching HTTP status.
type argoServer struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu        sync.Mutex
	workflows map[string]map[string]any // by namespace/name
	requests  []argoRequest
	fail      map[string]argoFailure // by route pattern
	uids      int
}

type argoRequest struct {
	route, query, auth, contentType string
	body                            map[string]any
}

type argoFailure struct {
	status, code int
	message      string
	header       map[string]string
}

// gRPC codes the Argo Server answers with.
const (
	codeInvalidArgument  = 3
	codeNotFound         = 5
	codeAlreadyExists    = 6
	codePermissionDenied = 7
	codeInternal         = 13
	codeUnavailable      = 14
	codeUnauthenticated  = 16
)

func newArgoServer(t *testing.T, useTLS bool) *argoServer {
	s := &argoServer{t: t, token: "argo-token", workflows: map[string]map[string]any{}, fail: map[string]argoFailure{}}
	mux := http.NewServeMux()
	s.route(mux, "POST /api/v1/workflows/{ns}", s.create)
	s.route(mux, "GET /api/v1/workflows/{ns}", s.list)
	s.route(mux, "GET /api/v1/workflows/{ns}/{name}", s.get)
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected in the TLS test
	if useTLS {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *argoServer) config(template any) map[string]any {
	return map[string]any{"serverUrl": s.srv.URL, "token": s.token, "namespace": "argo", "template": template}
}

func (s *argoServer) route(mux *http.ServeMux, pattern string, h func(http.ResponseWriter, *http.Request, map[string]any)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.Method == http.MethodPost {
			raw, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(raw, &body); err != nil {
				writeError(w, http.StatusBadRequest, codeInvalidArgument, err.Error())
				return
			}
		}
		s.mu.Lock()
		s.requests = append(s.requests, argoRequest{route: pattern, query: r.URL.RawQuery,
			auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"), body: body})
		f, failing := s.fail[pattern]
		s.mu.Unlock()
		switch {
		case r.Header.Get("Authorization") != "Bearer "+s.token:
			writeError(w, http.StatusUnauthorized, codeUnauthenticated, "token not valid")
		case failing:
			for k, v := range f.header {
				w.Header().Set(k, v)
			}
			writeError(w, f.status, f.code, f.message)
		default:
			s.mu.Lock()
			defer s.mu.Unlock()
			h(w, r, body)
		}
	})
}

func (s *argoServer) create(w http.ResponseWriter, r *http.Request, body map[string]any) {
	ns := r.PathValue("ns")
	if r.Header.Get("Content-Type") != "application/json" {
		writeError(w, http.StatusBadRequest, codeInvalidArgument, "unexpected Content-Type")
		return
	}
	wf, _ := body["workflow"].(map[string]any)
	md, _ := wf["metadata"].(map[string]any)
	spec, _ := wf["spec"].(map[string]any)
	name, _ := md["name"].(string)
	switch {
	case wf == nil:
		writeError(w, http.StatusBadRequest, codeInvalidArgument, "workflow is required")
		return
	case body["namespace"] != ns || (md["namespace"] != nil && md["namespace"] != ns):
		writeError(w, http.StatusBadRequest, codeInvalidArgument, "namespace does not match the request path")
		return
	case name == "":
		writeError(w, http.StatusBadRequest, codeInvalidArgument, "metadata.name or metadata.generateName is required")
		return
	case spec["entrypoint"] == nil:
		writeError(w, http.StatusBadRequest, codeInvalidArgument, "spec.entrypoint is required")
		return
	}
	if _, taken := s.workflows[ns+"/"+name]; taken {
		writeError(w, http.StatusConflict, codeAlreadyExists, fmt.Sprintf("workflows.argoproj.io %q already exists", name))
		return
	}
	s.uids++
	md["namespace"], md["uid"] = ns, fmt.Sprintf("uid-%d", s.uids)
	md["creationTimestamp"], md["resourceVersion"] = "2026-01-02T03:04:05Z", fmt.Sprint(100+s.uids)
	s.workflows[ns+"/"+name] = wf
	writeJSON(w, http.StatusOK, wf)
}

func (s *argoServer) list(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	selector := r.URL.Query().Get("listOptions.labelSelector")
	var items []any
	for key, wf := range s.workflows {
		if strings.HasPrefix(key, r.PathValue("ns")+"/") && matches(wf, selector) {
			items = append(items, wf)
		}
	}
	// Items is null, not [], when nothing matches, as the server sends it.
	writeJSON(w, http.StatusOK, map[string]any{"metadata": map[string]any{"resourceVersion": "200"}, "items": items})
}

// matches applies an equality label selector ("k=v,k2=v2").
func matches(wf map[string]any, selector string) bool {
	md, _ := wf["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	for _, term := range strings.Split(selector, ",") {
		if term == "" {
			continue
		}
		k, v, _ := strings.Cut(term, "=")
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (s *argoServer) get(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	wf, ok := s.workflows[r.PathValue("ns")+"/"+r.PathValue("name")]
	if !ok {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("workflows.argoproj.io %q not found", r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, wf)
}

// setStatus sets a stored Workflow's status, as the controller would.
func (s *argoServer) setStatus(key, phase, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wf, ok := s.workflows[key]
	if !ok {
		s.t.Fatalf("no workflow %s on the server", key)
	}
	wf["status"] = map[string]any{"phase": phase, "message": message, "progress": "1/1"}
}

// add stores a Workflow as if submitted earlier by someone else.
func (s *argoServer) add(ns string, wf map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	md := wf["metadata"].(map[string]any)
	s.workflows[ns+"/"+md["name"].(string)] = wf
}

func (s *argoServer) failOn(route string, f argoFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[route] = f
}

func (s *argoServer) sent(route string) []argoRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []argoRequest
	for _, r := range s.requests {
		if r.route == route {
			out = append(out, r)
		}
	}
	return out
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message, "details": []any{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// workflowYAML is a Workflow manifest as a user writes it, rendered.
const workflowYAML = `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: deploy-
  labels:
    team: payments
spec:
  entrypoint: main
  arguments:
    parameters:
      - name: version
        value: v1.4.0
  templates:
    - name: main
      container:
        image: registry.example.com/deployer:2
        args: ["--version", "{{workflow.parameters.version}}"]
`
