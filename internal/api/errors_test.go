package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestServer_RouteErrorsAreJSON(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{Token: "t"})
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, "/v1/no-such-route", http.StatusNotFound, model.ENOTFOUND, ""},
		{http.MethodGet, "/v1/workspaces/" + testWS + "/no-such-collection", http.StatusNotFound, model.ENOTFOUND, ""},
		{http.MethodGet, "/nothing/here", http.StatusNotFound, model.ENOTFOUND, ""},
		{http.MethodDelete, eventsPath, http.StatusMethodNotAllowed, model.EINVALID, "POST"},
		{http.MethodGet, eventsPath, http.StatusMethodNotAllowed, model.EINVALID, "POST"},
		{http.MethodPost, "/livez", http.StatusMethodNotAllowed, model.EINVALID, "GET, HEAD"},
		{http.MethodPut, "/v1/workspaces/" + testWS + "/systems/s", http.StatusMethodNotAllowed, model.EINVALID, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.srv.URL+tt.path, nil)
			req.Header.Set("Authorization", "Bearer t")
			resp, err := ts.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s (%s), want %d JSON", resp.StatusCode, body, resp.Header.Get("Content-Type"), tt.status)
			}
			if got := resp.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			e := errorBodyOf(t, body)
			if e.Code != tt.code || !strings.Contains(e.Error, tt.path) {
				t.Errorf("answer %s: want code %s and the path", body, tt.code)
			}
		})
	}
	// Without the token a route answers 401, in the same shape.
	status, body := ts.doWith(http.MethodGet, "/v1/workspaces", "", "")
	if e := errorBodyOf(t, body); status != http.StatusUnauthorized || e.Code != model.EUNAUTHORIZED {
		t.Errorf("no token: %d %s", status, body)
	}
}

// TestServer_RedirectsPassThrough: ServeMux's redirect of an unclean path
// is not an error and is answered as the mux writes it.
func TestServer_RedirectsPassThrough(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(ts.srv.URL + "/v1//workspaces")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the redirect: %v", err)
	}
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/v1/workspaces" || !strings.Contains(string(body), "/v1/workspaces") {
		t.Errorf("%d Location %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

func TestServer_EventErrorsNameFieldIndexAndApplied(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(targetEvents("a")...)
	tests := []struct {
		name   string
		body   any
		status int
		want   errorBody
	}{
		{"an unknown field", event("deployment-version.created", map[string]any{"id": "v1", "tag": "v1", "deploymentId": "api", "stauts": "ready"}),
			http.StatusBadRequest, errorBody{Code: model.EINVALID, Field: "deploymentVersion.stauts", Index: ptr(0), Applied: ptr(0),
				Error: `deployment-version.created: unknown field "stauts" in deploymentVersion; did you mean "status"?`}},
		{"the second event of a batch", []any{
			event("system.created", map[string]any{"id": "s2", "name": "s2"}),
			event("environment.created", map[string]any{"id": "broken", "name": "broken", "resourceSelector": map[string]any{"cel": 3}}),
			event("system.created", map[string]any{"id": "s3", "name": "s3"}),
		}, http.StatusBadRequest, errorBody{Code: model.EINVALID, Field: "environment.resourceSelector", Index: ptr(1), Applied: ptr(1),
			Error: `event 1 (environment.created): environment.resourceSelector: selector "cel" must be a string`}},
		{"poison", event("system.created", map[string]any{"id": "s4", "name": "a\u0000b"}),
			http.StatusBadRequest, errorBody{Code: model.EINVALID, Field: "data.name", Index: ptr(0), Applied: ptr(0),
				Error: `system.created: data.name: contains a NUL character (\u0000)`}},
		{"an unknown envelope field", []any{event("system.created", map[string]any{"id": "s5", "name": "s5"}),
			map[string]any{"eventType": "system.created", "date": map[string]any{}}},
			http.StatusBadRequest, errorBody{Code: model.EINVALID, Field: "date", Index: ptr(1), Applied: ptr(0),
				Error: `event 1 (system.created): unknown field "date"; did you mean "data"?`}},
		{"a refused action", event("release-target.deploy", map[string]any{"resourceId": "r1", "environmentId": "prod", "deploymentId": "nope"}),
			http.StatusNotFound, errorBody{Code: model.ENOTFOUND, Index: ptr(0), Applied: ptr(0),
				Error: `release-target.deploy: release target r1/prod/nope does not exist`}},
		{"malformed", `{"eventType": `, http.StatusBadRequest, errorBody{Code: model.EINVALID, Field: "body", Applied: ptr(0),
			Error: `body: malformed JSON: unexpected end of JSON input at byte 13`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ok := tt.body.(string)
			if !ok {
				body = mustJSON(t, tt.body)
			}
			status, resp := ts.do(http.MethodPost, eventsPath, body)
			got := errorBodyOf(t, resp)
			if status != tt.status || mustJSON(t, got) != mustJSON(t, tt.want) {
				t.Errorf("got %d %s\nwant %d %s", status, resp, tt.status, mustJSON(t, tt.want))
			}
		})
	}
	// The batch's first event stayed applied, the one after the refusal not.
	if status, _ := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/systems/s2", ""); status != http.StatusOK {
		t.Errorf("systems/s2: %d, want it applied", status)
	}
	for _, id := range []string{"s3", "s4", "s5"} {
		if status, _ := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/systems/"+id, ""); status != http.StatusNotFound {
			t.Errorf("systems/%s: %d, want it not applied", id, status)
		}
	}
}

func ptr(i int) *int { return &i }

// TestServer_JobUpdatedTakesTheJobAsRead posts a job back exactly as GET
// shows it, as a runner that echoes the job does.
func TestServer_JobUpdatedTakesTheJobAsRead(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(targetEvents("a")...)
	ts.post(versionEvent("v1", "1.0.0"))
	id := items(t, ts.get("/v1/workspaces/"+testWS+"/jobs"))[0].(map[string]any)["id"].(string)
	job := ts.get("/v1/workspaces/" + testWS + "/jobs/" + id)
	if job["release"] == nil {
		t.Fatalf("the read view has no release: %v", job)
	}
	job["status"] = "inProgress"
	ts.post(event("job.updated", map[string]any{"id": id, "job": job, "fieldsToUpdate": []string{"status"}}))
	if got := ts.get("/v1/workspaces/" + testWS + "/jobs/" + id)["status"]; got != "inProgress" {
		t.Errorf("status %v after the update", got)
	}
}

// TestServer_OversizedBodyToAClientThatWritesFirst writes a body over the
// limit in full, over a raw connection, before reading anything: the
// answer must be the 413, not a connection reset under the writes, and the
// connection stays usable.
func TestServer_OversizedBodyToAClientThatWritesFirst(t *testing.T) {
	const limit = 4 << 20
	ts := newTestServer(t, engine.Config{}, Config{MaxBodyBytes: limit})
	conn, err := net.Dial("tcp", ts.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A safety net so that a broken server fails the test instead of
	// hanging it; nothing is asserted on time.
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	// Far more than the socket buffers hold, so that writing it all
	// needs the server to read it; within the bound the server reads.
	const size = 15 << 20
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: gatehouse\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		eventsPath, size); err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("x", 64<<10))
	for written := 0; written < size; written += len(chunk) {
		if _, err := conn.Write(chunk[:min(len(chunk), size-written)]); err != nil {
			t.Fatalf("writing the body after %d bytes: %v", written, err)
		}
	}
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s, want 413", resp.StatusCode, answer)
	}
	if e := errorBodyOf(t, answer); e.Field != "body" || e.Applied == nil || *e.Applied != 0 {
		t.Errorf("answer %s", answer)
	}
	// The body was read to its end, so the connection carries on.
	if _, err := io.WriteString(conn, "GET /livez HTTP/1.1\r\nHost: gatehouse\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(rd, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("next request on the connection: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestServer_FarOversizedBodyIsRefusedUnread: a declared length past the
// bound is answered at once, and the connection closed.
func TestServer_FarOversizedBodyIsRefusedUnread(t *testing.T) {
	const limit = 1 << 10
	ts := newTestServer(t, engine.Config{}, Config{MaxBodyBytes: limit})
	conn, err := net.Dial("tcp", ts.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	// Only the headers are sent: the server must not wait for the body.
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: gatehouse\r\nContent-Length: %d\r\n\r\n", eventsPath, 1<<40); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Errorf("%d (close %v) %s, want 413 and the connection closed", resp.StatusCode, resp.Close, answer)
	}
	var e errorBody
	if json.Unmarshal(answer, &e) != nil || e.Code != model.EINVALID {
		t.Errorf("answer %s", answer)
	}
}
