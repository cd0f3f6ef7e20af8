package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/agents/webhook"
)

// TestServe_SensitiveValuesOnlyInWhatIsSent: a sensitive variable is
// opened into the webhook delivery, and the agent's secret signs it without
// being in it; neither is anywhere else: not in a log line (at debug,
// including the failed first attempt), not in a trace span's name,
// attributes or events, not in the database files.
func TestServe_SensitiveValuesOnlyInWhatIsSent(t *testing.T) {
	const agentSecret, variable, token = "hmac-Agent-Secret-77", "Clear-Text-Sensitive-91", "Bearer tok-Header-55"
	t.Setenv(envEncryptionKey, strings.Repeat("0123456789abcdef", 4))
	sink := installSpanSink(t)

	var mu sync.Mutex
	var bodies [][]byte
	var signatures, authorizations []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, body)
		signatures = append(signatures, r.Header.Get(webhook.SignatureHeader))
		authorizations = append(authorizations, r.Header.Get("Authorization"))
		first := len(bodies) == 1
		mu.Unlock()
		if first {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
		}
	}))
	defer hook.Close()

	dir := t.TempDir()
	var logs logBuffer
	cfg := testConfig("sqlite:" + filepath.Join(dir, "gatehouse.db"))
	cfg.LogOutput, cfg.LogLevel = &logs, "debug"
	rm := startMainWith(t, cfg)
	c := newAPIClient(t, rm.Addr(), "ws-sealed")
	c.mustApply("system.created", fxSystem("sys"))
	c.mustApply("job-agent.created", map[string]any{"id": "hook", "name": "hook", "type": "webhook",
		"config": map[string]any{"url": hook.URL, "secret": agentSecret}})
	c.mustApply("environment.created", fxEnvironment("prod", fxCEL("true")))
	c.mustApply("system-environment.linked", map[string]any{"systemId": "sys", "environmentId": "prod"})
	dep := fxDeployment("api", "hook", fxCEL("true"))
	dep["jobAgentConfig"] = map[string]any{"password": "{{.Variables.password}}",
		"headers": map[string]any{"Authorization": map[string]any{"sensitive": token}}}
	c.mustApply("deployment.created", dep)
	c.mustApply("system-deployment.linked", map[string]any{"systemId": "sys", "deploymentId": "api"})
	c.mustApply("deployment-variable.created", map[string]any{"id": "pw", "key": "password", "deploymentId": "api"})
	c.mustApply("deployment-variable-value.created", map[string]any{"id": "pwv", "deploymentVariableId": "pw", "priority": 1,
		"value": map[string]any{"sensitive": variable}})
	c.mustApply("resource.created", fxResource("r1", "Cluster", map[string]string{}))
	c.mustApply("deployment-version.created", fxVersion("v1", "api"))

	waitFor(t, "the second delivery to be recorded", func() bool {
		jobs := c.list("jobs", "")
		if len(jobs) != 1 {
			return false
		}
		var j struct {
			Dispatch *struct {
				Attempts     int    `json:"attempts"`
				DispatchedAt string `json:"dispatchedAt"`
			} `json:"dispatch"`
		}
		return json.Unmarshal(jobs[0], &j) == nil && j.Dispatch != nil && j.Dispatch.Attempts == 2 && j.Dispatch.DispatchedAt != ""
	})
	mu.Lock()
	delivered, signature, authorization := string(bodies[1]), signatures[1], authorizations[1]
	mu.Unlock()
	// A sealed header reaches the receiver as the header, not in the body.
	if authorization != token {
		t.Errorf("Authorization header %q, want the opened token", authorization)
	}
	if strings.Contains(delivered, token) {
		t.Errorf("the delivery's body carries the sealed header's value in clear: %s", delivered)
	}
	if strings.Count(delivered, variable) < 2 {
		t.Errorf("the delivery does not carry the variable opened in its config and its context: %s", delivered)
	}
	// The key that signs the body is not in it: whoever sees one delivery
	// could sign forged ones with it.
	if strings.Contains(delivered, agentSecret) {
		t.Errorf("the delivery carries the agent's signing secret in clear: %s", delivered)
	}
	if signature != webhook.Sign(agentSecret, []byte(delivered)) {
		t.Errorf("signature %q is not the body's HMAC under the agent's secret", signature)
	}
	rm.stop(t)

	for _, clear := range []string{agentSecret, variable, token} {
		for i, line := range logs.lines() {
			if strings.Contains(line, clear) {
				t.Errorf("log line %d holds %q: %s", i, clear, line)
			}
		}
		sink.mu.Lock()
		for _, s := range sink.spans {
			text := s.Name()
			for _, a := range s.Attributes() {
				text += " " + a.Value.Emit()
			}
			for _, e := range s.Events() {
				text += " " + e.Name
				for _, a := range e.Attributes {
					text += " " + a.Value.Emit()
				}
			}
			if strings.Contains(text, clear) {
				t.Errorf("span %s holds %q", s.Name(), clear)
			}
		}
		sink.mu.Unlock()
		files, _ := filepath.Glob(filepath.Join(dir, "gatehouse.db*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), clear) {
				t.Errorf("database file %s holds %q", filepath.Base(f), clear)
			}
		}
	}
	if len(logs.lines()) == 0 {
		t.Error("nothing was logged: the check above saw nothing")
	}
}
