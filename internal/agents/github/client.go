package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gogithub "github.com/google/go-github/v74/github"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

// app dispatches and follows github-app jobs. It is safe for concurrent use.
type app struct {
	base    http.RoundTripper
	timeout time.Duration
	now     func() time.Time
	clients *lru.Cache[string, *gogithub.Client]
}

// client returns the API client of the config's installation, one per
// (base URL, app, installation, key), so that its installation token is
// exchanged once and reused until it expires.
func (a *app) client(cfg *config) (*gogithub.Client, error) {
	sum := sha256.Sum256([]byte(cfg.baseURL + "\x00" + strconv.FormatInt(cfg.appID, 10) + "\x00" +
		strconv.FormatInt(cfg.installationID, 10) + "\x00" + cfg.privateKey))
	key := hex.EncodeToString(sum[:])
	if c, ok := a.clients.Get(key); ok {
		return c, nil
	}
	tr, err := ghinstallation.New(a.base, cfg.appID, cfg.installationID, []byte(cfg.privateKey))
	if err != nil {
		return nil, agents.Permanent("github-app privateKey: %v", err)
	}
	// The token exchange goes to the same server as the API calls: a GitHub
	// Enterprise Server's API root serves both.
	tr.BaseURL = cfg.apiBase()
	c := gogithub.NewClient(&http.Client{Transport: tr, Timeout: a.timeout})
	if c.BaseURL, err = url.Parse(cfg.apiBase()); err != nil {
		return nil, agents.Permanent("github-app baseUrl: %v", err)
	}
	a.clients.Add(key, c)
	return c, nil
}

// classify turns what go-github and ghinstallation return into an
// *agents.Error: rate limits are retryable after their reset, refused
// credentials (401, 403) and other 4xx answers are permanent, 5xx and
// transport failures retryable. Messages keep GitHub's own words and leave
// out request URLs.
func (a *app) classify(what string, err error) error {
	var rate *gogithub.RateLimitError
	var abuse *gogithub.AbuseRateLimitError
	var answer *gogithub.ErrorResponse
	var token *ghinstallation.HTTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rate):
		e := agents.Retryable("%s: GitHub rate limit reached: %s", what, rate.Message)
		e.StatusCode = statusOf(rate.Response)
		e.RetryAfter = max(rate.Rate.Reset.Sub(a.now()), 0)
		return e
	case errors.As(err, &abuse):
		e := agents.Retryable("%s: GitHub secondary rate limit: %s", what, abuse.Message)
		e.StatusCode = statusOf(abuse.Response)
		if abuse.RetryAfter != nil {
			e.RetryAfter = *abuse.RetryAfter
		}
		return e
	case errors.As(err, &answer) && answer.Response != nil:
		return statusError(what, answer.Response, answer.Message)
	case errors.As(err, &token) && token.Response != nil:
		// ghinstallation leaves a refused exchange's body open for us.
		defer token.Response.Body.Close()
		var body struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(io.LimitReader(token.Response.Body, 4096)).Decode(&body)
		return statusError(fmt.Sprintf("%s: installation token for installation %d", what, token.InstallationID), token.Response, body.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return agents.Retryable("%s: GitHub did not answer in time", what)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return agents.Retryable("%s: %v", what, err)
}

func statusError(what string, resp *http.Response, message string) *agents.Error {
	msg := fmt.Sprintf("%s: GitHub answered %s", what, resp.Status)
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg = fmt.Sprintf("%s: GitHub refused the app's credentials (%s)", what, resp.Status)
	}
	if message != "" {
		msg += ": " + message
	}
	return agents.StatusError(resp.StatusCode, resp.Header.Get("Retry-After"), msg)
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}
