package argocd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// agent talks to Argo CD's API server. It is safe for concurrent use.
type agent struct {
	client *http.Client
	now    func() time.Time
}

// Dispatch upserts the job's Application:
// POST /api/v1/applications?upsert=true with the manifest as the body.
// Upserting the same manifest twice changes nothing, so a repeated
// dispatch is harmless.
func (a *agent) Dispatch(ctx context.Context, job agents.Job) (agents.Result, error) {
	cfg, err := readConfig(job.Config)
	if err != nil {
		return agents.Result{}, agents.Permanent("argo-cd config: %v", err)
	}
	var got application
	err = a.do(ctx, cfg, http.MethodPost, "/api/v1/applications", url.Values{"upsert": {"true"}}, cfg.manifest, &got)
	if err != nil {
		return agents.Result{}, err
	}
	name, ns := got.Metadata.Name, got.Metadata.Namespace
	if name == "" {
		name, ns = cfg.app.Metadata.Name, cfg.app.Metadata.Namespace
	}
	return agents.Result{ExternalID: name, Message: "upserted application " + name,
		Links: map[string]string{"application": cfg.applicationURL(ns, name)}}, nil
}

// Follow reads the Application: GET /api/v1/applications/{name}, naming
// its project so that a missing Application answers 404 (without a
// project Argo CD answers 403 rather than say whether it exists).
func (a *agent) Follow(ctx context.Context, job agents.Job) (agents.Update, error) {
	cfg, err := readConfig(job.Config)
	if err != nil {
		return agents.Update{}, agents.Permanent("argo-cd config: %v", err)
	}
	name := job.ExternalID
	if name == "" {
		name = cfg.app.Metadata.Name
	}
	q := url.Values{"project": {cfg.app.project()}}
	if ns := cfg.app.Metadata.Namespace; ns != "" {
		q.Set("appNamespace", ns)
	}
	var app application
	err = a.do(ctx, cfg, http.MethodGet, "/api/v1/applications/"+url.PathEscape(name), q, nil, &app)
	if e := agents.Classify(err); e != nil && e.StatusCode == http.StatusNotFound {
		return agents.Update{Status: model.JobExternalRunNotFound, Message: e.Message}, nil
	}
	if err != nil {
		return agents.Update{}, err
	}
	dispatched := job.DispatchedAt
	if dispatched.IsZero() {
		dispatched = job.CreatedAt
	}
	u := judge(&app, dispatched, a.now())
	u.Links = map[string]string{"application": cfg.applicationURL(app.Metadata.Namespace, app.Metadata.Name)}
	return u, nil
}

// apiError is the error body of Argo CD's API (grpc-gateway's): the gRPC
// status code and its message.
type apiError struct {
	Error   string `json:"error"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// do sends one request with the API key and decodes a 2xx answer into
// out; any other answer becomes an *agents.Error with Argo CD's message.
func (a *agent) do(ctx context.Context, cfg *config, method, path string, q url.Values, body []byte, out any) error {
	u := cfg.serverURL + path + "?" + q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return agents.Permanent("argo-cd: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+cfg.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	what := method + " " + path
	resp, err := a.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return agents.Retryable("argo-cd %s: %s did not answer in time", what, req.URL.Host)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return agents.Retryable("argo-cd %s: %v", what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return agents.Retryable("argo-cd %s: reading the answer: %v", what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(what, resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return agents.Retryable("argo-cd %s: the answer is not an Application: %v", what, err)
	}
	return nil
}

func statusError(what string, resp *http.Response, data []byte) *agents.Error {
	msg := strings.TrimSpace(string(data))
	var e apiError
	if json.Unmarshal(data, &e) == nil && (e.Message != "" || e.Error != "") {
		msg = e.Message
		if msg == "" {
			msg = e.Error
		}
	}
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	text := fmt.Sprintf("argo-cd %s: Argo CD answered %s", what, resp.Status)
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		text = fmt.Sprintf("argo-cd %s: Argo CD refused the API key (%s)", what, resp.Status)
	}
	if msg != "" {
		text += ": " + msg
	}
	return agents.StatusError(resp.StatusCode, resp.Header.Get("Retry-After"), text)
}
