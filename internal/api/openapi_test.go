package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// routes are the fixed routes server.go registers; the collection routes
// are added from the collections map.
var routes = []struct{ method, pattern string }{
	{"GET", "/livez"},
	{"GET", "/readyz"},
	{"GET", "/openapi.json"},
	{"GET", "/metrics"},
	{"POST", "/v1/workspaces/{ws}/events"},
	{"GET", "/v1/workspaces"},
	{"GET", "/v1/workspaces/{ws}/release-targets"},
	{"GET", "/v1/workspaces/{ws}/release-targets/{key}"},
	{"GET", "/v1/workspaces/{ws}/release-targets/{key}/evaluate"},
	{"GET", "/v1/workspaces/{ws}/release-targets/{key}/eligible-versions"},
	{"POST", "/v1/workspaces/{ws}/deployments/{id}/plan"},
	{"GET", "/v1/workspaces/{ws}/deployments/{id}/plans/{planId}"},
	{"GET", "/v1/workspaces/{ws}/resources/{id}/relations"},
	{"GET", "/v1/workspaces/{ws}/jobs"},
	{"GET", "/v1/workspaces/{ws}/jobs/{id}"},
	{"POST", "/v1/workspaces/{ws}/workflow-runs"},
	{"DELETE", "/v1/workspaces/{ws}"},
	{"GET", "/v1/workspaces/{ws}/dead-letters"},
	{"GET", "/v1/workspaces/{ws}/dead-letters/{id...}"},
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// shape replaces path parameter names so that /a/{ws} and /a/{workspaceId}
// compare equal.
func shape(path string) string { return pathParam.ReplaceAllString(path, "{}") }

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas"`
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

func TestOpenAPI_DocumentCoversRoutes(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{Registry: prometheus.NewRegistry()})
	status, body := ts.do(http.MethodGet, "/openapi.json", "")
	if status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", status)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}

	documented := map[string]map[string]bool{} // shape -> methods
	for path, item := range doc.Paths {
		ms := map[string]bool{}
		for k := range item {
			ms[strings.ToUpper(k)] = true
		}
		documented[shape(path)] = ms
	}

	want := slices.Clone(routes)
	for name := range collections {
		want = append(want,
			struct{ method, pattern string }{"GET", "/v1/workspaces/{ws}/" + name},
			struct{ method, pattern string }{"GET", "/v1/workspaces/{ws}/" + name + "/{id}"})
	}
	for _, r := range want {
		if !documented[shape(r.pattern)][r.method] {
			t.Errorf("route %s %s is not documented", r.method, r.pattern)
		}
	}

	// Every documented operation is served by a registered route, and by
	// the one it claims to be.
	srv := New(engine.New(engine.Config{}), Config{Registry: prometheus.NewRegistry()})
	httpMethods := []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}
	for path, item := range doc.Paths {
		for m := range item {
			method := strings.ToUpper(m)
			if !slices.Contains(httpMethods, method) {
				continue // parameters, summary...
			}
			concrete := pathParam.ReplaceAllString(path, "x")
			req := httptest.NewRequest(method, concrete, nil)
			_, pattern := srv.mux.Handler(req)
			if pattern == "" || shape(pattern) != method+" "+shape(path) {
				t.Errorf("documented %s %s is served by %q", method, path, pattern)
			}
		}
	}

	// The eventType enum is exactly what the engine accepts.
	var eventType struct {
		Enum []string `json:"enum"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["EventType"], &eventType); err != nil {
		t.Fatalf("schema EventType: %v", err)
	}
	got, accepted := slices.Sorted(slices.Values(eventType.Enum)), slices.Sorted(slices.Values(engine.EventTypes()))
	if !slices.Equal(got, accepted) {
		t.Errorf("EventType enum = %v\nengine accepts %v", got, accepted)
	}

	if b := doc.Components.SecuritySchemes["bearerAuth"]; b.Type != "http" || b.Scheme != "bearer" {
		t.Errorf("securitySchemes.bearerAuth = %+v, want http bearer", b)
	}

	// Every $ref points at a defined component.
	var all struct {
		Components map[string]map[string]json.RawMessage `json:"components"`
	}
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"\$ref":\s*"#/components/([^/]+)/([^"]+)"`).FindAllSubmatch(body, -1) {
		if _, ok := all.Components[string(m[1])][string(m[2])]; !ok {
			t.Errorf("dangling $ref #/components/%s/%s", m[1], m[2])
		}
	}
}

// TestOpenAPI_ErrorSchemaIsTheAnswer checks that the documented Error
// schema has exactly the fields of the error answers, and lists every code.
func TestOpenAPI_ErrorSchemaIsTheAnswer(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Error"], &schema); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for f := range reflect.TypeFor[errorBody]().Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields = append(fields, name)
		if opts == "" && !slices.Contains(schema.Required, name) {
			t.Errorf("%s is in every answer but not required by the schema", name)
		}
	}
	if got := slices.Sorted(maps.Keys(schema.Properties)); !slices.Equal(got, slices.Sorted(slices.Values(fields))) {
		t.Errorf("schema properties %v, answer fields %v", got, fields)
	}
	codes := []string{model.EINVALID, model.ENOTFOUND, model.ECONFLICT, model.EUNAVAILABLE, model.EINTERNAL, model.EUNAUTHORIZED}
	if got := schema.Properties["code"].Enum; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(codes))) {
		t.Errorf("code enum %v, codes %v", got, codes)
	}
}
