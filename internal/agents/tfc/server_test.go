package tfc

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const jsonAPI = "application/vnd.api+json"

// tfcServer answers the parts of the Terraform Cloud API the agent uses,
// as HCP Terraform does: /api/v2 paths, JSON:API documents (data, id,
// type, attributes, relationships) with Content-Type
// application/vnd.api+json, bearer tokens, errors as a JSON:API errors
// array, 404 for an organization or workspace the token cannot see, 422
// for a name or key that is taken, sensitive values never read back.
type tfcServer struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu         sync.Mutex
	orgs       map[string]bool
	workspaces map[string]*tfWorkspace // by org/name
	vars       map[string][]*tfVar     // by workspace id
	runs       []*tfRun
	requests   []tfRequest
	fail       map[string]tfFailure // by route, e.g. "POST /api/v2/runs"
	ids        int
	// planned is what a speculative run's plan finds: additions, changes
	// and destructions.
	planned [3]int
}

type tfWorkspace struct{ id, org, name string }

type tfVar struct {
	id, key, value, category string
	hcl, sensitive           bool
}

type tfRun struct {
	id, workspaceID, message, status string
	// planOnly runs (speculative) carry their run variables and plan.
	planOnly  bool
	variables []any
	planID    string
}

type tfRequest struct {
	route, uri, auth, accept, contentType string
	body                                  map[string]any
}

type tfFailure struct {
	status int
	header map[string]string
	errors []map[string]any
}

func newTFCServer(t *testing.T) *tfcServer {
	s := &tfcServer{t: t, token: "tfc-token", orgs: map[string]bool{"acme": true},
		workspaces: map[string]*tfWorkspace{}, vars: map[string][]*tfVar{}, fail: map[string]tfFailure{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/ping", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, nil)
		w.Header().Set("TFP-API-Version", "2.6")
		w.Header().Set("TFP-AppName", "HCP Terraform")
		w.Header().Set("X-RateLimit-Limit", "30")
		w.WriteHeader(http.StatusNoContent)
	})
	s.route(mux, "GET /api/v2/organizations/{org}/workspaces/{name}", s.readWorkspace)
	s.route(mux, "POST /api/v2/organizations/{org}/workspaces", s.createWorkspace)
	s.route(mux, "GET /api/v2/workspaces/{id}/vars", s.listVars)
	s.route(mux, "POST /api/v2/workspaces/{id}/vars", s.createVar)
	s.route(mux, "PATCH /api/v2/workspaces/{id}/vars/{varID}", s.updateVar)
	s.route(mux, "GET /api/v2/workspaces/{id}/runs", s.listRuns)
	s.route(mux, "POST /api/v2/runs", s.createRun)
	s.route(mux, "GET /api/v2/runs/{id}", s.readRun)
	s.route(mux, "GET /api/v2/plans/{id}", s.readPlan)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *tfcServer) config(change func(map[string]any)) map[string]any {
	c := map[string]any{"address": s.srv.URL, "organization": "acme", "token": s.token, "workspace": "api-prod"}
	if change != nil {
		change(c)
	}
	return c
}

// route registers an authenticated JSON:API handler that first records the
// request and answers an injected failure for its route, if any.
func (s *tfcServer) route(mux *http.ServeMux, pattern string, h func(http.ResponseWriter, *http.Request, map[string]any)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.Method == http.MethodPost || r.Method == http.MethodPatch {
			if ct := r.Header.Get("Content-Type"); ct != jsonAPI {
				writeErrors(w, http.StatusUnsupportedMediaType, apiError("415", "unsupported media type", "Content-Type must be "+jsonAPI))
				return
			}
			raw, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(raw, &body); err != nil {
				writeErrors(w, http.StatusBadRequest, apiError("400", "malformed JSON", err.Error()))
				return
			}
		}
		s.record(r, body)
		s.mu.Lock()
		f, failing := s.fail[pattern]
		s.mu.Unlock()
		switch {
		case r.Header.Get("Authorization") != "Bearer "+s.token:
			writeErrors(w, http.StatusUnauthorized, map[string]any{"status": "401", "title": "unauthorized"})
		case r.Header.Get("Accept") != jsonAPI:
			writeErrors(w, http.StatusNotAcceptable, apiError("406", "not acceptable", "Accept must be "+jsonAPI))
		case failing:
			for k, v := range f.header {
				w.Header().Set(k, v)
			}
			writeErrors(w, f.status, f.errors...)
		default:
			s.mu.Lock()
			defer s.mu.Unlock()
			h(w, r, body)
		}
	})
}

func (s *tfcServer) record(r *http.Request, body map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, tfRequest{route: r.Method + " " + r.URL.Path, uri: r.URL.RequestURI(),
		auth: r.Header.Get("Authorization"), accept: r.Header.Get("Accept"), contentType: r.Header.Get("Content-Type"), body: body})
}

// routes returns "METHOD path" of every request but the pings.
func (s *tfcServer) routes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		if r.route != "GET /api/v2/ping" {
			out = append(out, r.route)
		}
	}
	return out
}

// sent returns the requests on one route, in order.
func (s *tfcServer) sent(route string) []tfRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tfRequest
	for _, r := range s.requests {
		if r.route == route {
			out = append(out, r)
		}
	}
	return out
}

func (s *tfcServer) failOn(route string, f tfFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[route] = f
}

func (s *tfcServer) nextID(prefix string) string {
	s.ids++
	return fmt.Sprintf("%s-%04d", prefix, s.ids)
}

// addWorkspace and addVar seed state as earlier use would have left it.
func (s *tfcServer) addWorkspace(org, name string) *tfWorkspace {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := &tfWorkspace{id: s.nextID("ws"), org: org, name: name}
	s.workspaces[org+"/"+name] = ws
	return ws
}

func (s *tfcServer) addVar(ws *tfWorkspace, v tfVar) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.id = s.nextID("var")
	s.vars[ws.id] = append(s.vars[ws.id], &v)
}

func (s *tfcServer) setRunStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		if r.id == id {
			r.status = status
			return
		}
	}
	s.t.Fatalf("no run %s on the server", id)
}

func (s *tfcServer) readWorkspace(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	ws, ok := s.workspaces[r.PathValue("org")+"/"+r.PathValue("name")]
	if !ok || !s.orgs[r.PathValue("org")] {
		writeErrors(w, http.StatusNotFound, map[string]any{"status": "404", "title": "not found"})
		return
	}
	writeDoc(w, http.StatusOK, workspaceResource(ws))
}

func (s *tfcServer) createWorkspace(w http.ResponseWriter, r *http.Request, body map[string]any) {
	org := r.PathValue("org")
	if !s.orgs[org] {
		writeErrors(w, http.StatusNotFound, map[string]any{"status": "404", "title": "not found"})
		return
	}
	attrs := attributes(body)
	name, _ := attrs["name"].(string)
	if _, taken := s.workspaces[org+"/"+name]; taken {
		writeErrors(w, http.StatusUnprocessableEntity, invalidAttribute("Name has already been taken", "/data/attributes/name"))
		return
	}
	ws := &tfWorkspace{id: s.nextID("ws"), org: org, name: name}
	s.workspaces[org+"/"+name] = ws
	writeDoc(w, http.StatusCreated, workspaceResource(ws))
}

func (s *tfcServer) listVars(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	var items []any
	for _, v := range s.vars[r.PathValue("id")] {
		items = append(items, varResource(r.PathValue("id"), v))
	}
	writeList(w, items)
}

func (s *tfcServer) createVar(w http.ResponseWriter, r *http.Request, body map[string]any) {
	wsID := r.PathValue("id")
	attrs := attributes(body)
	v := &tfVar{id: s.nextID("var")}
	v.key, _ = attrs["key"].(string)
	v.value, _ = attrs["value"].(string)
	v.category, _ = attrs["category"].(string)
	v.hcl, _ = attrs["hcl"].(bool)
	v.sensitive, _ = attrs["sensitive"].(bool)
	if v.category != "terraform" && v.category != "env" {
		writeErrors(w, http.StatusUnprocessableEntity, invalidAttribute("Category is not included in the list", "/data/attributes/category"))
		return
	}
	for _, old := range s.vars[wsID] {
		if old.key == v.key && old.category == v.category {
			writeErrors(w, http.StatusUnprocessableEntity, invalidAttribute("Key has already been taken", "/data/attributes/key"))
			return
		}
	}
	s.vars[wsID] = append(s.vars[wsID], v)
	writeDoc(w, http.StatusCreated, varResource(wsID, v))
}

func (s *tfcServer) updateVar(w http.ResponseWriter, r *http.Request, body map[string]any) {
	wsID := r.PathValue("id")
	for _, v := range s.vars[wsID] {
		if v.id != r.PathValue("varID") {
			continue
		}
		attrs := attributes(body)
		if value, ok := attrs["value"].(string); ok {
			v.value = value
		}
		if hcl, ok := attrs["hcl"].(bool); ok {
			v.hcl = hcl
		}
		if sensitive, ok := attrs["sensitive"].(bool); ok {
			if v.sensitive && !sensitive {
				writeErrors(w, http.StatusUnprocessableEntity, invalidAttribute("Sensitive cannot be changed once set", "/data/attributes/sensitive"))
				return
			}
			v.sensitive = sensitive
		}
		writeDoc(w, http.StatusOK, varResource(wsID, v))
		return
	}
	writeErrors(w, http.StatusNotFound, map[string]any{"status": "404", "title": "not found"})
}

func (s *tfcServer) listRuns(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	search := r.URL.Query().Get("search[basic]")
	var items []any
	for i := len(s.runs) - 1; i >= 0; i-- { // newest first
		run := s.runs[i]
		if run.workspaceID == r.PathValue("id") && (strings.Contains(run.message, search) || run.id == search) {
			items = append(items, runResource(run))
		}
	}
	writeList(w, items)
}

func (s *tfcServer) createRun(w http.ResponseWriter, r *http.Request, body map[string]any) {
	data, _ := body["data"].(map[string]any)
	rel, _ := data["relationships"].(map[string]any)
	wsRel, _ := rel["workspace"].(map[string]any)
	wsData, _ := wsRel["data"].(map[string]any)
	wsID, _ := wsData["id"].(string)
	found := false
	for _, ws := range s.workspaces {
		found = found || ws.id == wsID
	}
	if !found {
		writeErrors(w, http.StatusNotFound, map[string]any{"status": "404", "title": "not found"})
		return
	}
	message, _ := attributes(body)["message"].(string)
	run := &tfRun{id: s.nextID("run"), workspaceID: wsID, message: message, status: "pending"}
	if planOnly, _ := attributes(body)["plan-only"].(bool); planOnly {
		run.planOnly, run.status, run.planID = true, "planning", s.nextID("plan")
		run.variables, _ = attributes(body)["variables"].([]any)
	}
	s.runs = append(s.runs, run)
	writeDoc(w, http.StatusCreated, runResource(run))
}

func (s *tfcServer) readRun(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	for _, run := range s.runs {
		if run.id == r.PathValue("id") {
			writeDoc(w, http.StatusOK, runResource(run))
			if run.planOnly {
				// Terraform is quick here: planned by the next read.
				run.status = "planned_and_finished"
			}
			return
		}
	}
	writeErrors(w, http.StatusNotFound, map[string]any{"status": "404", "title": "not found"})
}

func (s *tfcServer) runCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.runs)
}

// varsOf returns a workspace's variables by category/key, as stored.
func (s *tfcServer) varsOf(org, name string) map[string]tfVar {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]tfVar{}
	if ws, ok := s.workspaces[org+"/"+name]; ok {
		for _, v := range s.vars[ws.id] {
			out[v.category+"/"+v.key] = *v
		}
	}
	return out
}

func (s *tfcServer) readPlan(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	for _, run := range s.runs {
		if run.planID == r.PathValue("id") {
			status := "running"
			if run.status == "planned_and_finished" {
				status = "finished"
			}
			writeDoc(w, http.StatusOK, map[string]any{"id": run.planID, "type": "plans",
				"attributes": map[string]any{"status": status, "has-changes": s.planned != [3]int{},
					"resource-additions": s.planned[0], "resource-changes": s.planned[1], "resource-destructions": s.planned[2]}})
			return
		}
	}
	writeErrors(w, http.StatusNotFound, map[string]any{"status": "404", "title": "not found"})
}
