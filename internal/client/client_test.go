package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/client"
	"github.com/gatehouse-dev/gatehouse/internal/client/clienttest"
)

const ws = "ws-client-test"

func newClient(t *testing.T, url, token string) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{Server: url, Token: token, Workspace: ws, Retries: 2,
		Pause: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClient_ListPagesThroughEverything(t *testing.T) {
	srv := clienttest.New(t, clienttest.Options{Token: "tok"})
	var events []map[string]any
	for i := range 1203 {
		id := fmt.Sprintf("r-%04d", i)
		events = append(events, map[string]any{"eventType": "resource.created", "data": map[string]any{"id": id, "name": id,
			"identifier": id, "kind": "Host", "version": "v1", "config": map[string]any{}, "metadata": map[string]string{}}})
	}
	srv.Send(ws, "tok", events...)

	items, err := client.ListOf[client.Resource](context.Background(), newClient(t, srv.URL, "tok"), client.Resources, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range items {
		seen[r.ID] = true
	}
	if len(items) != 1203 || len(seen) != 1203 {
		t.Errorf("listed %d resources (%d distinct), want 1203", len(items), len(seen))
	}
}

func TestClient_SendReportsTheFailedEvent(t *testing.T) {
	srv := clienttest.New(t, clienttest.Options{})
	c := newClient(t, srv.URL, "")
	_, err := c.Send(context.Background(), []client.Event{
		{EventType: "system.created", EventID: "e1", Data: json.RawMessage(`{"id": "s", "name": "s"}`)},
		{EventType: "environment.created", EventID: "e2", Data: json.RawMessage(`{"id": "e"}`)},
	})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("send: %v, want an *APIError", err)
	}
	if apiErr.Status != http.StatusBadRequest || apiErr.Index == nil || *apiErr.Index != 1 || !strings.Contains(apiErr.Message, "environment.name") {
		t.Errorf("error: status %d, index %v, message %q", apiErr.Status, apiErr.Index, apiErr.Message)
	}
	if strings.HasPrefix(apiErr.Message, "event ") {
		t.Errorf("the message keeps the event prefix the index replaces: %q", apiErr.Message)
	}
}

func TestClient_EvaluateAndTargets(t *testing.T) {
	srv := clienttest.New(t, clienttest.Options{})
	srv.Send(ws, "",
		map[string]any{"eventType": "system.created", "data": map[string]any{"id": "sys", "name": "sys"}},
		map[string]any{"eventType": "environment.created", "data": map[string]any{"id": "prod", "name": "prod", "resourceSelector": map[string]any{"cel": "true"}}},
		map[string]any{"eventType": "deployment.created", "data": map[string]any{"id": "api", "name": "api", "slug": "api", "resourceSelector": map[string]any{"cel": "true"}}},
		map[string]any{"eventType": "system-environment.linked", "data": map[string]any{"systemId": "sys", "environmentId": "prod"}},
		map[string]any{"eventType": "system-deployment.linked", "data": map[string]any{"systemId": "sys", "deploymentId": "api"}},
		map[string]any{"eventType": "resource.created", "data": map[string]any{"id": "eu", "name": "eu", "identifier": "eu", "kind": "K", "version": "v", "config": map[string]any{}, "metadata": map[string]string{}}},
		map[string]any{"eventType": "policy.created", "data": map[string]any{"id": "gate", "name": "gate", "enabled": true, "selector": "true",
			"rules": []any{map[string]any{"anyApproval": map[string]any{"minApprovals": 1}}}}},
		map[string]any{"eventType": "deployment-version.created", "data": map[string]any{"id": "v1", "tag": "v1.0.0", "deploymentId": "api", "config": map[string]any{}, "jobAgentConfig": map[string]any{}}},
	)
	c := newClient(t, srv.URL, "")
	ctx := context.Background()
	targets, err := c.ReleaseTargets(ctx, client.Filter{EnvironmentID: "prod"})
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets: %v %+v", err, targets)
	}
	ev, err := c.Evaluate(ctx, targets[0].Key, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Allowed || ev.Version.Tag != "v1.0.0" || len(ev.Policies) != 1 || len(ev.Policies[0].RuleResults) != 1 ||
		ev.Policies[0].RuleResults[0].Kind != "anyApproval" || !ev.Policies[0].RuleResults[0].ActionRequired {
		t.Errorf("evaluation: %+v", ev)
	}
	why, err := c.WhyBlocked(ctx, targets, 10)
	if err != nil || !strings.HasPrefix(why[targets[0].Key], "v1.0.0: ") || !strings.Contains(why[targets[0].Key], "approval") {
		t.Errorf("why blocked: %v %v", err, why)
	}
	if _, err := c.Evaluate(ctx, "no-such-target", ""); !client.IsStatus(err, http.StatusNotFound) {
		t.Errorf("evaluate of a missing target: %v", err)
	}
}

// apiLike answers like Gatehouse's events route: it checks the method, the
// path, the bearer token and the body's eventIds, then answers the given
// statuses in turn with the API's JSON error shape.
func apiLike(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1)) - 1
		if r.Method != http.MethodPost || r.URL.Path != "/v1/workspaces/"+ws+"/events" || r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("request %s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		body, _ := io.ReadAll(r.Body)
		var events []client.Event
		if err := json.Unmarshal(body, &events); err != nil || len(events) != 1 || events[0].WorkspaceID != ws {
			t.Errorf("body %s: %v", body, err)
		}
		w.Header().Set("Content-Type", "application/json")
		status := statuses[min(n, len(statuses)-1)]
		w.WriteHeader(status)
		if status == http.StatusAccepted {
			_, _ = io.WriteString(w, `{"applied": 1}`)
			return
		}
		_, _ = fmt.Fprintf(w, `{"error": "database unavailable", "code": "unavailable"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestClient_RetriesOnlyWhatIsSafeToRepeat(t *testing.T) {
	ev := json.RawMessage(`{"id": "s", "name": "s"}`)
	t.Run("batch with ids is retried after 503", func(t *testing.T) {
		srv, calls := apiLike(t, http.StatusServiceUnavailable, http.StatusAccepted)
		n, err := newClient(t, srv.URL, "tok").Send(context.Background(), []client.Event{{EventType: "system.created", EventID: "e1", Data: ev}})
		if err != nil || n != 1 || calls.Load() != 2 {
			t.Errorf("applied %d, err %v, after %d calls", n, err, calls.Load())
		}
	})
	t.Run("batch without ids is not", func(t *testing.T) {
		srv, calls := apiLike(t, http.StatusServiceUnavailable, http.StatusAccepted)
		_, err := newClient(t, srv.URL, "tok").Send(context.Background(), []client.Event{{EventType: "system.created", Data: ev}})
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != "unavailable" || calls.Load() != 1 {
			t.Errorf("err %v after %d calls", err, calls.Load())
		}
	})
	t.Run("retries run out", func(t *testing.T) {
		srv, calls := apiLike(t, http.StatusServiceUnavailable)
		_, err := newClient(t, srv.URL, "tok").Send(context.Background(), []client.Event{{EventType: "system.created", EventID: "e1", Data: ev}})
		if !client.IsStatus(err, http.StatusServiceUnavailable) || calls.Load() != 3 {
			t.Errorf("err %v after %d calls, want 503 after 3", err, calls.Load())
		}
	})
}

func TestClient_ErrorsSayWhatHappened(t *testing.T) {
	srv := clienttest.New(t, clienttest.Options{Token: "right"})
	_, err := newClient(t, srv.URL, "wrong").List(context.Background(), client.Systems, nil)
	if !client.IsStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), "token is missing or wrong") {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := client.New(client.Options{Server: "ftp://x"}); err == nil {
		t.Error("an ftp server URL was accepted")
	}
	c, err := client.New(client.Options{Server: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), client.Systems, nil); !errors.Is(err, client.ErrNoWorkspace) {
		t.Errorf("list without a workspace: %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c = newClient(t, closed.URL, "")
	_, err = c.Workspaces(context.Background())
	var unreachable *client.UnreachableError
	if !errors.As(err, &unreachable) || !strings.Contains(err.Error(), closed.URL) {
		t.Errorf("closed port: %v", err)
	}
}
