// Package client is the typed client of Gatehouse's HTTP API that the CLI
// uses. It knows the routes and wire shapes of the API and nothing of the
// engine behind it: answers are decoded tolerantly (fields it does not know
// are ignored), and error answers become *APIError values carrying the
// server's message, code, field and event index when it sends them.
//
// A Client is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultServer is the address a client talks to when none is configured:
// where `gatehouse serve` listens by default.
const DefaultServer = "http://127.0.0.1:8080"

// pageSize is how many items one list request asks for.
const pageSize = 500

// Options configures a Client.
type Options struct {
	// Server is the base URL of the API ("http://host:port"); DefaultServer
	// when empty. A bare "host:port" means http.
	Server string
	// Token is sent as a bearer token when not empty.
	Token string
	// Workspace is the workspace every workspace-scoped call addresses.
	Workspace string
	// HTTPClient does the requests; a client with a 60 s timeout when nil.
	HTTPClient *http.Client
	// UserAgent is sent with every request when not empty.
	UserAgent string
	// Retries is how many times a request that may not have reached the
	// server, or that got 502/503/504, is sent again (with growing pauses).
	// Only requests that are safe to repeat are sent: reads, and event
	// batches whose events carry ids.
	Retries int
	// Pause returns how long to wait before retry n (1-based); a doubling
	// pause from 250 ms when nil.
	Pause func(n int) time.Duration
}

// Client talks to one Gatehouse server on behalf of one workspace.
type Client struct {
	base      *url.URL
	token     string
	workspace string
	http      *http.Client
	userAgent string
	retries   int
	pause     func(int) time.Duration
}

// New returns a client for o. It fails only when o.Server is not a usable
// URL; nothing is sent until the first call.
func New(o Options) (*Client, error) {
	server := strings.TrimSpace(o.Server)
	if server == "" {
		server = DefaultServer
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("server %q is not an http(s) URL", o.Server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{base: u, token: o.Token, workspace: o.Workspace, http: o.HTTPClient, userAgent: o.UserAgent,
		retries: max(o.Retries, 0), pause: o.Pause}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.pause == nil {
		c.pause = func(n int) time.Duration { return 250 * time.Millisecond << (n - 1) }
	}
	return c, nil
}

// Server returns the base URL the client talks to.
func (c *Client) Server() string { return c.base.String() }

// Workspace returns the workspace the client addresses.
func (c *Client) Workspace() string { return c.workspace }

// wsPath returns the path of a workspace-scoped route.
func (c *Client) wsPath(segments ...string) (string, error) {
	if c.workspace == "" {
		return "", ErrNoWorkspace
	}
	parts := []string{"v1", "workspaces", url.PathEscape(c.workspace)}
	for _, s := range segments {
		parts = append(parts, url.PathEscape(s))
	}
	return "/" + strings.Join(parts, "/"), nil
}

// request is one call: what to send and whether it may be repeated.
type request struct {
	method string
	path   string
	query  url.Values
	body   []byte
	// repeatable marks a request that changes nothing when applied twice.
	repeatable bool
}

// do sends req and decodes a 2xx answer into out (when out is not nil).
func (c *Client) do(ctx context.Context, req request, out any) error {
	body, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.method, req.path, err)
	}
	return nil
}

// send does req with retries and returns the body of a 2xx answer.
func (c *Client) send(ctx context.Context, req request) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		body, retry, err := c.once(ctx, req)
		if err == nil || !retry || !req.repeatable || attempt >= c.retries {
			return body, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.pause(attempt + 1)):
		}
	}
}

// once does req a single time. retry reports whether the failure is one a
// repeat may cure.
func (c *Client) once(ctx context.Context, req request) (body []byte, retry bool, err error) {
	// req.path is already escaped segment by segment.
	target := c.base.String() + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	var rd io.Reader
	if req.body != nil {
		rd = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, target, rd)
	if err != nil {
		return nil, false, fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	hreq.Header.Set("Accept", "application/json")
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		hreq.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var op *net.OpError
		dial := errors.As(err, &op) && op.Op == "dial"
		// The url.Error around it repeats the method and URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// A refused or unresolvable connection never reached the server:
		// repeating it at once rarely helps and only delays the answer.
		return nil, !dial, &UnreachableError{Server: c.base.String(), Err: err}
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, true, &UnreachableError{Server: c.base.String(), Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode/100 == 2 {
		return body, false, nil
	}
	apiErr := decodeError(req.method, req.path, resp.StatusCode, body)
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return nil, true, apiErr
	}
	return nil, false, apiErr
}

// listPage is the shape of every list answer.
type listPage struct {
	Items []json.RawMessage `json:"items"`
	Total int               `json:"total"`
}

// list reads every page of a list route.
func (c *Client) list(ctx context.Context, path string, query url.Values) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(pageSize))
		q.Set("offset", strconv.Itoa(len(all)))
		var p listPage
		if err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, repeatable: true}, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if len(p.Items) == 0 || len(all) >= p.Total {
			return all, nil
		}
	}
}
