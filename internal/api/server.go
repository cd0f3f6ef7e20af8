// Package api serves Gatehouse's HTTP API: event intake, reads of every
// workspace collection, health, metrics and the OpenAPI document.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/dispatch"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/ingest"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/telemetry"
)

//go:embed openapi.json
var openAPIDocument []byte

// DefaultMaxBodyBytes is the default limit on an events request body.
const DefaultMaxBodyBytes = 32 << 20

// Config configures a Server.
type Config struct {
	// MaxBodyBytes limits request bodies; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every /v1 request; a request without it is answered 401 with a
	// WWW-Authenticate challenge. Its holder is anonymous.
	Token string
	// Tokens, when set, are every token a /v1 request may carry instead:
	// the admin token and the named ones whose callers the engine records
	// (see package auth). Nil takes Token alone.
	Tokens *auth.Tokens
	// Logger receives request errors; slog.Default() when nil.
	Logger *slog.Logger
	// Registry collects the API's metrics and is served at /metrics; none
	// are kept when nil.
	Registry *prometheus.Registry
	// Events counts the events requests applied and rejected; nothing is
	// counted when nil.
	Events *telemetry.Events
	// Agents are the job agent types, for the pull protocol's claims.
	Agents agents.Registry
	// Opener opens sensitive values for what a runner claims; without one
	// a job holding any cannot be handed over.
	Opener dispatch.Opener
	// GitHubWebhookSecret verifies GitHub's workflow_run webhooks at
	// /v1/webhooks/github; the route is off when empty.
	GitHubWebhookSecret string
	// Ready returns nil when the server takes requests, else why not (for
	// /readyz: restoring, draining, the database cannot be written); always
	// ready when nil.
	Ready func() error
	// Router, when set, says which process serves a workspace: requests
	// for one another process owns are forwarded to it. Nil serves every
	// workspace here.
	Router Router
	// Self is this process's advertised address, named in the requests it
	// forwards.
	Self string
	// Submitter, when set, takes events requests (Kafka) instead of this
	// process applying them.
	Submitter Submitter
	// Workspaces, when set, lists every stored workspace for GET
	// /v1/workspaces (those not in memory too); nil lists memory.
	Workspaces func(ctx context.Context) ([]*model.Workspace, error)
}

// Server is the HTTP API over one engine.
type Server struct {
	engine  *engine.Engine
	cfg     Config
	logger  *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	outages *outages
	fwd     *forwarder
}

// New returns the API for eng.
func New(eng *engine.Engine, cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Tokens == nil && cfg.Token != "" {
		cfg.Tokens, _ = auth.New(cfg.Token, nil) // an admin token alone is always valid
	}
	s := &Server{engine: eng, cfg: cfg, logger: cfg.Logger, mux: http.NewServeMux(), metrics: newMetrics(cfg.Registry),
		outages: newOutages(cfg.Logger)}
	s.fwd = newForwarder(cfg.Self, cfg.Registry, s.writeError)
	s.routes()
	return s
}

// ServeHTTP implements http.Handler: it routes the request, then records
// it (metrics and one log line; see observe).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.observe(w, r, s.route) }

// route answers r and returns the pattern of the route that took it, ""
// for none. A request no route takes is answered with the error JSON (404,
// or 405 with an Allow header) instead of ServeMux's plain text.
func (s *Server) route(w http.ResponseWriter, r *http.Request) string {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return pattern
	}
	// The mux's own answer says which: record it, then answer in JSON.
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		s.writeError(w, r, errNoRoute(r))
	case http.StatusMethodNotAllowed:
		allow := rec.header.Get("Allow")
		w.Header().Set("Allow", allow)
		s.writeError(w, r, errMethod(r, allow))
	default:
		// A redirect (a path to clean): passed on as the mux wrote it.
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	}
	return ""
}

// recorder keeps the answer of ServeMux's own handlers (not found, method
// not allowed, redirects), which are small.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.cfg.Ready != nil {
			if err := s.cfg.Ready(); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPIDocument)
	})
	if s.cfg.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	}
	// Events are produced to Kafka by whichever process receives them;
	// without Kafka they go to the workspace's owner.
	s.mux.Handle("POST /v1/workspaces/{ws}/events", s.write(s.postEvents))
	s.mux.Handle("GET /v1/workspaces", s.auth(http.HandlerFunc(s.listWorkspaces)))
	s.mux.Handle("DELETE /v1/workspaces/{ws}", s.write(s.deleteWorkspace))
	s.mux.Handle("GET /v1/workspaces/{ws}/release-targets", s.read(s.listReleaseTargets))
	s.mux.Handle("GET /v1/workspaces/{ws}/release-targets/{key}", s.read(s.getReleaseTarget))
	s.mux.Handle("GET /v1/workspaces/{ws}/release-targets/{key}/evaluate", s.read(s.evaluateReleaseTarget))
	s.mux.Handle("GET /v1/workspaces/{ws}/resources/{id}/relations", s.read(s.resourceRelations))
	s.mux.Handle("GET /v1/workspaces/{ws}/jobs", s.read(s.listJobs))
	s.mux.Handle("GET /v1/workspaces/{ws}/jobs/{id}", s.read(s.getJob))
	s.mux.Handle("GET /v1/workspaces/{ws}/job-agents/{id}/jobs", s.read(s.listAgentJobs))
	s.mux.Handle("POST /v1/workspaces/{ws}/jobs/{id}/claim", s.auth(s.routed(true, http.HandlerFunc(s.claimJob))))
	s.mux.Handle("POST /v1/workspaces/{ws}/jobs/{id}/heartbeat", s.auth(s.routed(true, http.HandlerFunc(s.heartbeatJob))))
	s.mux.Handle("GET /v1/workspaces/{ws}/release-targets/{key}/eligible-versions", s.read(s.eligibleVersions))
	// A plan is kept by the engine that makes it: the owner's.
	s.mux.Handle("POST /v1/workspaces/{ws}/deployments/{id}/plan", s.auth(s.routed(true, http.HandlerFunc(s.postPlan))))
	s.mux.Handle("GET /v1/workspaces/{ws}/deployments/{id}/plans/{planId}", s.read(s.getPlan))
	// A run is applied by the owner, which answers with the run it made.
	s.mux.Handle("POST /v1/workspaces/{ws}/workflow-runs", s.auth(s.routed(true, http.HandlerFunc(s.createWorkflowRun))))
	if s.cfg.GitHubWebhookSecret != "" {
		// Authenticated by GitHub's signature, not the bearer token.
		s.mux.HandleFunc("POST /v1/webhooks/github", s.githubWebhook)
	}
	for name, c := range collections {
		s.mux.Handle("GET /v1/workspaces/{ws}/"+name, s.auth(s.routed(false, s.listCollection(c))))
		s.mux.Handle("GET /v1/workspaces/{ws}/"+name+"/{id}", s.auth(s.routed(false, s.getFromCollection(c))))
	}
	s.mux.Handle("GET /v1/workspaces/{ws}/dead-letters", s.auth(s.routed(false, s.listCollection(deadLetters))))
	s.mux.Handle("GET /v1/workspaces/{ws}/dead-letters/{id...}", s.auth(s.routed(false, s.getFromCollection(deadLetters))))
}

// auth requires one of the configured bearer tokens (TokenCheck) and
// passes the caller it names on in the request's context. A refusal is 401
// with a WWW-Authenticate challenge and a JSON error.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.cfg.Tokens == nil {
		return next
	}
	check := TokenCheck(s.cfg.Tokens)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, challenge, ok := check(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", challenge)
			s.writeError(w, r, model.Errorf(model.EUNAUTHORIZED, "missing or wrong bearer token"))
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), caller)))
	})
}

// TokenCheck returns the check of a request's bearer token (RFC 6750)
// against tokens, compared in constant time (auth.Tokens.Authenticate): it
// reports whether the request carries a known token, the caller that token
// names (nil for the anonymous admin token) and, when it carries none, the
// WWW-Authenticate challenge to answer with. Nil tokens let every request
// through.
func TokenCheck(tokens *auth.Tokens) func(r *http.Request) (caller *model.Caller, challenge string, ok bool) {
	if tokens == nil {
		return func(*http.Request) (*model.Caller, string, bool) { return nil, "", true }
	}
	return func(r *http.Request) (*model.Caller, string, bool) {
		token, given := bearerToken(r.Header.Get("Authorization"))
		caller, known := tokens.Authenticate(token)
		if given && known {
			return caller, "", true
		}
		challenge := `Bearer realm="gatehouse"`
		if given {
			challenge += `, error="invalid_token"`
		}
		return nil, challenge, false
	}
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 7235).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	return token, token != ""
}

// postEvents applies an envelope or an array of envelopes and answers once
// every event is committed: 202 with the number applied, or the error of the
// first event that failed with the number applied before it (those stay
// applied).
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	ws := r.PathValue("ws")
	body, err := s.readBody(w, r)
	if err != nil {
		s.cfg.Events.Observe(nil, err)
		s.writeEventsError(w, r, err)
		return
	}
	events, err := ingest.Decode(body, ws)
	if err != nil {
		s.cfg.Events.Observe(nil, err)
		s.writeEventsError(w, r, err)
		return
	}
	if caller := auth.CallerFrom(r.Context()); caller != nil {
		for i := range events {
			events[i].Caller = caller
		}
	}
	if s.cfg.Submitter != nil {
		if err := engine.CheckWorkspaceID(ws); err != nil {
			s.writeEventsError(w, r, err)
			return
		}
		s.submitEvents(w, r, ws, body, events)
		return
	}
	out, err := s.engine.ApplyBatch(r.Context(), ws, events)
	s.cfg.Events.Observe(events, err)
	s.outages.record(ws, err)
	if err != nil {
		s.writeEventsError(w, r, err)
		return
	}
	answer := map[string]any{"applied": out.Applied}
	if len(out.Skipped) > 0 {
		answer["skipped"] = out.Skipped
	}
	writeJSON(w, http.StatusAccepted, answer)
}

// Bounds on reading past the body limit: at least minDrainBytes, at most
// maxDrainBytes, otherwise three times the limit (four in all).
const (
	minDrainBytes = 1 << 20
	maxDrainBytes = 256 << 20
)

// readBody reads the request body, refusing one over MaxBodyBytes. The rest
// of a body over the limit is read and dropped, up to a bound, before the
// refusal is answered: a client that writes its whole body before reading
// then gets the 413 instead of a connection reset under its writes. A body
// past the bound closes the connection after the answer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.cfg.MaxBodyBytes
	drain := min(max(3*limit, minDrainBytes), maxDrainBytes)
	if r.ContentLength > limit+drain {
		w.Header().Set("Connection", "close")
		return nil, errTooLarge(limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, model.Invalid("body", "could not be read: %v", err)
	}
	if int64(len(body)) <= limit {
		return body, nil
	}
	if _, err := io.CopyN(io.Discard, r.Body, drain); err == nil {
		// More than the bound: stop reading and close.
		w.Header().Set("Connection", "close")
	}
	return nil, errTooLarge(limit)
}
