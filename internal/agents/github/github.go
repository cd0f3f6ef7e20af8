// Package github is the "github-app" job agent type: a job becomes a
// workflow_dispatch of a GitHub Actions workflow, authenticated as a GitHub
// App installation, and is followed through the workflow run it starts.
//
// GitHub's dispatch answer does not name the run it starts, and its API
// does not show a run's inputs, so the run is found by its title: the
// workflow should name its runs after the job id it receives,
//
//	on:
//	  workflow_dispatch:
//	    inputs:
//	      job_id: {required: true}
//	run-name: ${{ inputs.job_id }}
//
// Runs can also be reported by GitHub's workflow_run webhooks; see
// VerifySignature and ParseWorkflowRun.
package github

import (
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
	gogithub "github.com/google/go-github/v74/github"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TypeName is the job agent type this package serves.
const TypeName = "github-app"

// Defaults of the config.
const (
	DefaultBaseURL = "https://api.github.com/"
	DefaultRef     = "main"
)

// Following: a run must appear within RunNotFoundAfter of the dispatch;
// runs are looked for from runLookback before the dispatch, allowing for
// clocks that disagree.
const (
	RunNotFoundAfter = 5 * time.Minute
	runLookback      = 2 * time.Minute
	followInterval   = 20 * time.Second
	maxRunPages      = 10
)

// Options configure the type.
type Options struct {
	// Client's transport and timeout carry every request (token exchanges
	// included); http.DefaultTransport and no timeout when nil.
	Client *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New returns the github-app type.
func New(opts Options) *agents.Type {
	a := &app{base: http.DefaultTransport, now: opts.Now}
	if opts.Client != nil {
		a.timeout = opts.Client.Timeout
		if opts.Client.Transport != nil {
			a.base = opts.Client.Transport
		}
	}
	if a.now == nil {
		a.now = time.Now
	}
	// Installation tokens live an hour; keeping a client per installation
	// reuses its token instead of exchanging a new one for every call.
	a.clients, _ = lru.New[string, *gogithub.Client](64)
	return &agents.Type{
		Name:           TypeName,
		Sensitive:      []string{"privateKey"},
		Validate:       validate,
		Agent:          a,
		Follower:       a,
		FollowInterval: followInterval,
	}
}

// config is a github-app job's config, read and checked.
type config struct {
	owner, repo, workflow, ref string
	appID, installationID      int64
	privateKey                 string
	baseURL                    string
}

// workflowName says which workflow a config names, for messages.
func (c *config) workflowName() string { return c.owner + "/" + c.repo + " workflow " + c.workflow }

// agentKeys are what the app itself holds; jobKeys what a job adds (often
// from the deployment's jobAgentConfig).
var (
	agentKeys = []string{"appId", "installationId", "privateKey"}
	jobKeys   = []string{"owner", "repo", "workflowId"}
)

func validate(m map[string]any, scope agents.Scope) error {
	_, err := readConfig(m, scope, false)
	return err
}

// readConfig reads and checks a config. While validating, the private key
// may still be sealed (an object) or a template; once opened it must be a
// PEM RSA key.
func readConfig(m map[string]any, scope agents.Scope, opened bool) (*config, error) {
	c := agents.Config(m)
	required := agentKeys
	if scope == agents.ScopeJob {
		required = append(append([]string{}, jobKeys...), agentKeys...)
	}
	if err := c.Require(required...); err != nil {
		return nil, err
	}
	if err := c.Strings("owner", "repo", "workflowId", "ref"); err != nil {
		return nil, err
	}
	if err := c.URL("baseUrl"); err != nil {
		return nil, err
	}
	cfg := &config{owner: c.String("owner"), repo: c.String("repo"), workflow: c.String("workflowId"),
		ref: c.String("ref"), baseURL: c.String("baseUrl")}
	if cfg.ref == "" {
		cfg.ref = DefaultRef
	}
	if cfg.baseURL == "" {
		cfg.baseURL = DefaultBaseURL
	}
	var err error
	if cfg.appID, err = positive(c, "appId"); err != nil {
		return nil, err
	}
	if cfg.installationID, err = positive(c, "installationId"); err != nil {
		return nil, err
	}
	switch key := c["privateKey"].(type) {
	case nil:
	case string:
		if opened || !agents.IsTemplate(key) {
			if _, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(key)); err != nil {
				return nil, model.Invalid("privateKey", "must be the app's PEM RSA private key: %v", err)
			}
		}
		cfg.privateKey = key
	case map[string]any:
		if opened {
			return nil, model.Invalid("privateKey", "is still sealed")
		}
	default:
		return nil, model.Invalid("privateKey", "must be a PEM string, got %T", key)
	}
	return cfg, nil
}

// positive reads a GitHub id, which must be a positive whole number.
func positive(c agents.Config, key string) (int64, error) {
	if s, ok := c[key].(string); ok && agents.IsTemplate(s) {
		return 0, nil
	}
	n, err := c.Int(key, 0)
	if err != nil {
		return 0, err
	}
	if n < 0 || (n == 0 && c[key] != nil) {
		return 0, model.Invalid(key, "must be a positive number, got %d", n)
	}
	return n, nil
}

// apiBase returns the API root with the one trailing slash go-github wants.
func (c *config) apiBase() string { return strings.TrimRight(c.baseURL, "/") + "/" }
