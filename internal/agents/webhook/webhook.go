// Package webhook is the "webhook" job agent type: each dispatch is one
// signed POST of the job to a URL the user runs. Status comes back from the
// receiver by job.updated events, so the type has no follower.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TypeName is the job agent type this package serves.
const TypeName = "webhook"

// Headers sent with every delivery. A receiver checks SignatureHeader
// against its secret; DeliveryHeader is the job id, stable across
// redeliveries, so a receiver can drop duplicates.
const (
	EventHeader     = "X-Gatehouse-Event"
	DeliveryHeader  = "X-Gatehouse-Delivery"
	SignatureHeader = "X-Gatehouse-Signature"
	// EventDispatched is the value of EventHeader and of the body's "type".
	EventDispatched = "job.dispatched"
)

// DefaultTimeout bounds one delivery when the config sets no timeoutSeconds.
const DefaultTimeout = 10 * time.Second

// maxAnswer bounds how much of a receiver's answer is read for externalId.
const maxAnswer = 64 << 10

// Options configure the type.
type Options struct {
	// Client sends the deliveries; http.DefaultClient's transport when nil.
	// Its redirect policy is replaced: a redirect is answered as a failure,
	// since following it would turn the POST into a GET without the job.
	Client *http.Client
}

// New returns the webhook type.
func New(opts Options) *agents.Type {
	c := http.Client{}
	if opts.Client != nil {
		c = *opts.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &agents.Type{
		Name:      TypeName,
		Sensitive: []string{"secret"},
		Validate:  validate,
		Agent:     &agent{client: &c},
	}
}

// config is a webhook job's config, read and checked.
type config struct {
	url     string
	secret  string
	headers map[string]string
	timeout time.Duration
}

// reserved are the headers Gatehouse sets itself; a config may not change
// them, or the receiver could no longer trust what they say.
var reserved = []string{"Content-Type", "Content-Length", "Host", EventHeader, DeliveryHeader, SignatureHeader}

// readConfig reads and checks a config. When validating, a secret may still
// be sealed (an object); at dispatch it must have been opened to a string,
// or the delivery would go out unsigned.
func readConfig(m map[string]any, opened bool) (*config, error) {
	c := agents.Config(m)
	if err := c.Require("url"); err != nil {
		return nil, err
	}
	if err := c.URL("url"); err != nil {
		return nil, err
	}
	if err := c.Strings("secret"); err != nil {
		if _, sealed := c["secret"].(map[string]any); opened || !sealed {
			return nil, err
		}
	}
	secs, err := c.Int("timeoutSeconds", int64(DefaultTimeout/time.Second))
	if err != nil {
		return nil, err
	}
	if secs <= 0 || secs > 300 {
		return nil, model.Invalid("timeoutSeconds", "must be between 1 and 300, got %d", secs)
	}
	headers, err := readHeaders(c["headers"])
	if err != nil {
		return nil, err
	}
	return &config{url: c.String("url"), secret: c.String("secret"), headers: headers, timeout: time.Duration(secs) * time.Second}, nil
}

func readHeaders(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, model.Invalid("headers", "must be an object of header names to values, got %T", v)
	}
	out := make(map[string]string, len(m))
	for name, val := range m {
		field := "headers." + name
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, model.Invalid(field, "is not a valid header name")
		}
		for _, r := range reserved {
			if strings.EqualFold(name, r) {
				return nil, model.Invalid(field, "is set by Gatehouse and cannot be configured")
			}
		}
		s, ok := val.(string)
		if !ok {
			return nil, model.Invalid(field, "must be a string, got %T", val)
		}
		if !httpguts.ValidHeaderFieldValue(s) {
			return nil, model.Invalid(field, "holds characters a header value cannot have")
		}
		out[name] = s
	}
	return out, nil
}

// validate checks a config; the url is the agent's own, so both scopes
// require it.
func validate(m map[string]any, scope agents.Scope) error {
	_, err := readConfig(m, false)
	return err
}

type agent struct{ client *http.Client }

// Dispatch posts the job once. The body is built byte by byte so that the
// job document reaches the receiver exactly as the read API shows it, and
// the signature covers exactly those bytes.
func (a *agent) Dispatch(ctx context.Context, job agents.Job) (agents.Result, error) {
	cfg, err := readConfig(job.Config, true)
	if err != nil {
		return agents.Result{}, agents.Permanent("webhook config: %v", err)
	}
	body, err := Body(job.WorkspaceID, job.Document)
	if err != nil {
		return agents.Result{}, agents.Permanent("webhook: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.url, bytes.NewReader(body))
	if err != nil {
		return agents.Result{}, agents.Permanent("webhook url: %v", err)
	}
	for k, v := range cfg.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(EventHeader, EventDispatched)
	req.Header.Set(DeliveryHeader, job.ID)
	if cfg.secret != "" {
		req.Header.Set(SignatureHeader, Sign(cfg.secret, body))
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return agents.Result{}, transportError(req.URL, cfg.timeout, err)
	}
	defer resp.Body.Close()
	if err := agents.CheckResponse("webhook "+req.URL.Host, resp); err != nil {
		return agents.Result{}, err
	}
	return agents.Result{ExternalID: externalID(resp.Body)}, nil
}

// Body returns the delivery body for a job document:
// {"type":"job.dispatched","workspaceId":…,"job":<document>}.
func Body(workspaceID string, document json.RawMessage) ([]byte, error) {
	if !json.Valid(document) {
		return nil, errors.New("the job document is not valid JSON")
	}
	ws, err := json.Marshal(workspaceID)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"type":"` + EventDispatched + `","workspaceId":`)
	b.Write(ws)
	b.WriteString(`,"job":`)
	b.Write(document)
	b.WriteString(`}`)
	return b.Bytes(), nil
}

// Sign returns the SignatureHeader value for body: "sha256=" and the hex
// HMAC-SHA256 of the body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// externalID reads {"externalId": …} from a 2xx answer; any other answer
// (empty, not JSON, no such field) carries none and is still a success.
func externalID(r io.Reader) string {
	var answer struct {
		ExternalID json.RawMessage `json:"externalId"`
	}
	if err := json.NewDecoder(io.LimitReader(r, maxAnswer)).Decode(&answer); err != nil || answer.ExternalID == nil {
		return ""
	}
	var s string
	if json.Unmarshal(answer.ExternalID, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(answer.ExternalID, &n) == nil {
		return n.String()
	}
	return ""
}

// transportError describes a failed request without its URL, whose path or
// query may carry a token, and classifies it as retryable.
func transportError(u *url.URL, timeout time.Duration, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return agents.Retryable("webhook %s did not answer within %s", u.Host, timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return agents.Retryable("webhook %s: %v", u.Host, err)
}
