package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/webhook"
)

// delivery is one request as the receiver saw it.
type delivery struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// receiver is a webhook endpoint that records each delivery and answers
// with status, headers and body.
type receiver struct {
	*httptest.Server
	got chan delivery
}

func newReceiver(t *testing.T, status int, answer string, header map[string]string) *receiver {
	t.Helper()
	r := &receiver{got: make(chan delivery, 4)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.got <- delivery{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), body}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	default:
		t.Fatal("the receiver got no request")
		return delivery{}
	}
}

// document is a job as the read API shows it, spaced the way the encoder
// that produced it chose: it must arrive byte for byte.
const document = `{"id": "5b0c1f0e-6f5d-4c0e-9a57-2f1d7c9e0a11", "status": "pending",
  "dispatchContext": {"variables": {"password": "s3cr3t"}}}`

func job(config map[string]any) agents.Job {
	return agents.Job{WorkspaceID: "ws-1", ID: "5b0c1f0e-6f5d-4c0e-9a57-2f1d7c9e0a11", Status: "pending",
		Config: config, Document: json.RawMessage(document)}
}

func dispatch(t *testing.T, config map[string]any) (agents.Result, error) {
	t.Helper()
	return webhook.New(webhook.Options{}).Agent.Dispatch(context.Background(), job(config))
}

func TestWebhook_Dispatch(t *testing.T) {
	r := newReceiver(t, http.StatusOK, `{"externalId": "run-42", "note": "queued"}`, nil)
	res, err := dispatch(t, map[string]any{
		"url":     r.URL + "/hooks/deploy?team=infra",
		"secret":  "hush",
		"headers": map[string]any{"Authorization": "Bearer receiver-token", "X-Team": "infra"},
	})
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if res.ExternalID != "run-42" {
		t.Errorf("externalId = %q, want run-42", res.ExternalID)
	}
	d := r.next(t)
	if d.method != http.MethodPost || d.path != "/hooks/deploy" || d.query != "team=infra" {
		t.Errorf("request = %s %s?%s, want POST /hooks/deploy?team=infra", d.method, d.path, d.query)
	}
	want := `{"type":"job.dispatched","workspaceId":"ws-1","job":` + document + `}`
	if string(d.body) != want {
		t.Errorf("body =\n%s\nwant\n%s", d.body, want)
	}
	for k, v := range map[string]string{
		"Content-Type":         "application/json",
		"X-Gatehouse-Event":    "job.dispatched",
		"X-Gatehouse-Delivery": "5b0c1f0e-6f5d-4c0e-9a57-2f1d7c9e0a11",
		"Authorization":        "Bearer receiver-token",
		"X-Team":               "infra",
	} {
		if got := d.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	// The receiver's own check: HMAC-SHA256 of the raw body under the secret.
	mac := hmac.New(sha256.New, []byte("hush"))
	mac.Write(d.body)
	if got, want := d.header.Get("X-Gatehouse-Signature"), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
}

func TestWebhook_DispatchAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, answer, want string
		status             int
	}{
		{"empty 204", "", "", http.StatusNoContent},
		{"text 202", "accepted, thanks", "", http.StatusAccepted},
		{"json without externalId", `{"ok": true}`, "", http.StatusOK},
		{"numeric externalId", `{"externalId": 1234567890123}`, "1234567890123", http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, tc.status, tc.answer, nil)
			res, err := dispatch(t, map[string]any{"url": r.URL})
			if err != nil {
				t.Fatalf("dispatch: %v", err)
			}
			if res.ExternalID != tc.want {
				t.Errorf("externalId = %q, want %q", res.ExternalID, tc.want)
			}
			if d := r.next(t); d.header.Get("X-Gatehouse-Signature") != "" {
				t.Errorf("signed without a secret: %q", d.header.Get("X-Gatehouse-Signature"))
			}
		})
	}
}

func TestWebhook_DispatchFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		answer     string
		retryable  bool
		retryAfter time.Duration
	}{
		{"unauthorized", http.StatusUnauthorized, nil, `{"error": "bad token"}`, false, 0},
		{"not found", http.StatusNotFound, nil, "no such hook", false, 0},
		{"unprocessable", http.StatusUnprocessableEntity, nil, `{"error": "unknown deployment"}`, false, 0},
		{"server error", http.StatusInternalServerError, nil, "boom", true, 0},
		{"request timeout", http.StatusRequestTimeout, nil, "", true, 0},
		{"too many requests", http.StatusTooManyRequests, map[string]string{"Retry-After": "120"}, "slow down", true, 120 * time.Second},
		{"unavailable", http.StatusServiceUnavailable, map[string]string{"Retry-After": "30"}, "", true, 30 * time.Second},
		{"redirect is not followed", http.StatusFound, map[string]string{"Location": "/elsewhere"}, "", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, tc.status, tc.answer, tc.header)
			_, err := dispatch(t, map[string]any{"url": r.URL + "/hook"})
			e := agents.Classify(err)
			if e == nil {
				t.Fatal("dispatch succeeded")
			}
			if e.Retryable != tc.retryable || e.RetryAfter != tc.retryAfter || e.StatusCode != tc.status {
				t.Errorf("error = %+v, want retryable %v, retryAfter %s, status %d", e, tc.retryable, tc.retryAfter, tc.status)
			}
			if tc.answer != "" && !strings.Contains(e.Message, tc.answer) {
				t.Errorf("message %q does not carry the answer %q", e.Message, tc.answer)
			}
			r.next(t)
			select {
			case d := <-r.got:
				t.Errorf("a second request arrived: %s %s", d.method, d.path)
			default:
			}
		})
	}
}

func TestWebhook_DispatchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-req.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	_, err := dispatch(t, map[string]any{"url": srv.URL, "timeoutSeconds": 1.0})
	e := agents.Classify(err)
	if e == nil || !e.Retryable || !strings.Contains(e.Message, "did not answer within 1s") {
		t.Fatalf("error = %+v, want a retryable timeout", e)
	}
}

func TestWebhook_TransportErrorHidesURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := dispatch(t, map[string]any{"url": url + "/hooks/T0KEN-IN-PATH?key=T0KEN-IN-QUERY"})
	e := agents.Classify(err)
	if e == nil || !e.Retryable {
		t.Fatalf("error = %+v, want retryable", e)
	}
	if strings.Contains(e.Message, "T0KEN") {
		t.Errorf("message leaks the URL: %q", e.Message)
	}
}

func TestWebhook_DispatchRefusesUnopenedSecret(t *testing.T) {
	r := newReceiver(t, http.StatusOK, "", nil)
	_, err := dispatch(t, map[string]any{"url": r.URL, "secret": map[string]any{"ciphertext": "AAAA"}})
	if e := agents.Classify(err); e == nil || e.Retryable {
		t.Fatalf("error = %+v, want a permanent error", e)
	}
	select {
	case <-r.got:
		t.Error("an unsigned delivery went out")
	default:
	}
}

func TestWebhook_Validate(t *testing.T) {
	typ := webhook.New(webhook.Options{})
	if !typ.IsSensitive("secret") || typ.Follower != nil || typ.Pull {
		t.Errorf("type = %+v: want secret sensitive, no follower, pushed", typ)
	}
	for _, tc := range []struct {
		name   string
		config map[string]any
		field  string // "" = valid
	}{
		{"minimal", map[string]any{"url": "https://hooks.example.com/deploy"}, ""},
		{"everything", map[string]any{"url": "http://10.0.0.1:8080/x", "secret": "s", "timeoutSeconds": "30",
			"headers": map[string]any{"X-Api-Key": "k"}}, ""},
		{"templated url", map[string]any{"url": "https://{{.Resource.Name}}.example.com/hook"}, ""},
		{"sealed secret", map[string]any{"url": "https://h.example.com", "secret": map[string]any{"ciphertext": "AAAA"}}, ""},
		{"missing url", map[string]any{"secret": "s"}, "url"},
		{"relative url", map[string]any{"url": "/hook"}, "url"},
		{"ftp url", map[string]any{"url": "ftp://h.example.com/hook"}, "url"},
		{"url not a string", map[string]any{"url": true}, "url"},
		{"zero timeout", map[string]any{"url": "https://h.example.com", "timeoutSeconds": 0.0}, "timeoutSeconds"},
		{"fractional timeout", map[string]any{"url": "https://h.example.com", "timeoutSeconds": 1.5}, "timeoutSeconds"},
		{"headers not an object", map[string]any{"url": "https://h.example.com", "headers": "X-A: b"}, "headers"},
		{"header value not a string", map[string]any{"url": "https://h.example.com", "headers": map[string]any{"X-A": 1.0}}, "headers.X-A"},
		{"bad header name", map[string]any{"url": "https://h.example.com", "headers": map[string]any{"X A": "b"}}, "headers.X A"},
		{"reserved header", map[string]any{"url": "https://h.example.com", "headers": map[string]any{"x-gatehouse-signature": "sha256=0"}}, "headers.x-gatehouse-signature"},
		{"content type", map[string]any{"url": "https://h.example.com", "headers": map[string]any{"Content-Type": "text/plain"}}, "headers.Content-Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, scope := range []agents.Scope{agents.ScopeAgent, agents.ScopeJob} {
				err := typ.Validate(tc.config, scope)
				if tc.field == "" {
					if err != nil {
						t.Errorf("scope %d: %v", scope, err)
					}
					continue
				}
				if err == nil || !strings.HasPrefix(err.Error(), tc.field+": ") {
					t.Errorf("scope %d: error = %v, want one naming %q", scope, err, tc.field)
				}
			}
		})
	}
}
