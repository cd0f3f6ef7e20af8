package argowf

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

// workflow is the part of an Argo Workflow this agent reads back.
type workflow struct {
	Metadata struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Status struct {
		Phase   string `json:"phase"`
		Message string `json:"message"`
	} `json:"status"`
}

// workflowList is the answer of GET /api/v1/workflows/{namespace}; items is
// null when nothing matches.
type workflowList struct {
	Items []workflow `json:"items"`
}

// createRequest is the body of POST /api/v1/workflows/{namespace}.
type createRequest struct {
	Namespace string   `json:"namespace"`
	Workflow  manifest `json:"workflow"`
}

// serverError is how the Argo Server (through grpc-gateway) describes a
// failure: a gRPC code and a message.
type serverError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// client talks to one Argo Server with one token.
type client struct {
	http  *http.Client
	base  string
	token string
}

// do sends one request and decodes a 2xx answer into out. Any other answer
// is an *agents.Error classified by its status, with the server's message.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return agents.Permanent("encode request: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	u := strings.TrimRight(c.base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return agents.Permanent("build request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", bearer(c.token))
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answerError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return agents.Retryable("argo server answered %s with a body that is not a Workflow: %v", resp.Status, err)
	}
	return nil
}

// bearer is the Authorization value for a token. Argo's own tools take the
// token with its "Bearer " prefix (ARGO_TOKEN), so either form is accepted.
func bearer(token string) string {
	if strings.HasPrefix(token, "Bearer ") {
		return token
	}
	return "Bearer " + token
}

func answerError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := "argo server answered " + resp.Status
	var se serverError
	if err := json.Unmarshal(body, &se); err == nil && se.Message != "" {
		msg += ": " + se.Message
	} else if text := strings.TrimSpace(string(body)); text != "" {
		msg += ": " + text
	}
	return agents.StatusError(resp.StatusCode, resp.Header.Get("Retry-After"), msg)
}

func statusOf(err error) int {
	var ae *agents.Error
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// findByJob returns the name of the Workflow labelled with the job id in
// the namespace, "" when there is none.
func (c *client) findByJob(ctx context.Context, namespace, jobID string) (string, error) {
	q := url.Values{"listOptions.labelSelector": {agents.JobIDLabel + "=" + agents.LabelValue(jobID)}}
	var list workflowList
	if err := c.do(ctx, http.MethodGet, "/api/v1/workflows/"+url.PathEscape(namespace), q, nil, &list); err != nil {
		return "", agents.Wrap("list Workflows of job "+jobID, err)
	}
	if len(list.Items) == 0 {
		return "", nil
	}
	return list.Items[0].Metadata.Name, nil
}

// clientPool keeps one HTTP client per TLS setting, so connections are
// reused across calls without building a transport per request.
type clientPool struct {
	timeout time.Duration
	mu      sync.Mutex
	byTLS   map[string]*http.Client
}

func newClientPool(timeout time.Duration) *clientPool {
	return &clientPool{timeout: timeout, byTLS: map[string]*http.Client{}}
}

func (p *clientPool) get(s settings) (*client, error) {
	key := fmt.Sprintf("%t\x00%s", s.insecure, s.caData)
	p.mu.Lock()
	defer p.mu.Unlock()
	hc, ok := p.byTLS[key]
	if !ok {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// InsecureSkipVerify only when the config says insecureSkipTLSVerify:
		// an Argo Server's default certificate is self-signed.
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.insecure}
		if s.caData != nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(s.caData) {
				return nil, agents.Permanent("caData: holds no certificate")
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		hc = &http.Client{Timeout: p.timeout, Transport: tr}
		p.byTLS[key] = hc
	}
	return &client{http: hc, base: s.serverURL, token: s.token}, nil
}
