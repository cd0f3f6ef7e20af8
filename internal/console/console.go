// Package console is Gatehouse's web console: a deployments × environments
// grid per system, a page per release target explaining its decision rule
// by rule, and lists of versions, jobs and policies. Pages are rendered on
// the server with html/template from the engine's state, read in-process;
// a little JavaScript refreshes them live (Server-Sent Events, see Hub) and
// carries out the two actions, approve and redeploy, which are applied as
// events through engine.Apply. Nothing else here writes.
//
// Templates and static files are embedded, so the console needs no build
// step and no other server at run time.
package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/api"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the path under which everything but the home page is served.
const Prefix = "/console/"

// DefaultHeartbeat is how often a live stream sends a comment when nothing
// commits, so that proxies keep the connection open.
const DefaultHeartbeat = 25 * time.Second

// Config configures a Console.
type Config struct {
	// Tokens, when set, are the bearer tokens one of which is required on
	// every page, live stream and action, as on the API. The pages then ask
	// for it once and keep it in the browser's session storage; actions
	// taken with a named token are recorded as its holder's.
	Tokens *auth.Tokens
	// Hub tells live streams of commits; without one the streams only send
	// heartbeats and the pages do not refresh by themselves.
	Hub *Hub
	// Logger receives failed requests; slog.Default() when nil.
	Logger *slog.Logger
	// Heartbeat is the live streams' keep-alive period; DefaultHeartbeat
	// when zero.
	Heartbeat time.Duration
}

// Console serves the web console over one engine. It is an http.Handler for
// "/" and everything under Prefix.
type Console struct {
	engine *engine.Engine
	cfg    Config
	logger *slog.Logger
	mux    *http.ServeMux
	pages  map[string]*template.Template
	check  func(*http.Request) (*model.Caller, string, bool)
	// closed ends the live streams, which would otherwise hold a graceful
	// shutdown open.
	closed chan struct{}
}

// New returns the console for eng. It panics if the embedded templates do
// not parse, which a test of this package catches.
func New(eng *engine.Engine, cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	c := &Console{engine: eng, cfg: cfg, logger: cfg.Logger, mux: http.NewServeMux(), pages: parsePages(),
		check: api.TokenCheck(cfg.Tokens), closed: make(chan struct{})}
	c.routes()
	return c
}

// Close ends every live stream; pages keep being served. Call it when the
// server shuts down (http.Server.RegisterOnShutdown), so that open streams
// do not hold the shutdown until its deadline.
func (c *Console) Close() {
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
}

// Mount returns the handler of a whole server: the console's paths (the
// home page "/", "/console" and everything under Prefix) go to the
// console, every other path to api, which answers the paths it does not
// know with its own (JSON) errors.
func (c *Console) Mount(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "/" || p == "/console" || strings.HasPrefix(p, Prefix) {
			c.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

func (c *Console) routes() {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix(Prefix+"static/", http.FileServerFS(static))
	c.mux.Handle("GET "+Prefix+"static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Small files that change with the binary: always revalidate.
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	c.mux.HandleFunc("GET /{$}", c.page(c.home))
	c.mux.Handle("GET /console", http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	c.mux.HandleFunc("GET "+Prefix+"{$}", c.page(c.home))
	ws := Prefix + "workspaces/{ws}"
	c.mux.HandleFunc("GET "+ws, c.page(c.gridPage))
	c.mux.HandleFunc("GET "+ws+"/targets/{resource}/{environment}/{deployment}", c.page(c.targetPage))
	c.mux.HandleFunc("GET "+ws+"/versions", c.page(c.versionsPage))
	c.mux.HandleFunc("GET "+ws+"/deployments/{deployment}/plans/{plan}", c.page(c.planPage))
	c.mux.HandleFunc("GET "+ws+"/jobs", c.page(c.jobsPage))
	c.mux.HandleFunc("GET "+ws+"/policies", c.page(c.policiesPage))
	c.mux.HandleFunc("GET "+ws+"/events", c.authorized(c.events))
	// Actions change state: refused from other sites (a page elsewhere
	// posting here with the visitor's browser), and only taken as JSON.
	guard := http.NewCrossOriginProtection()
	guard.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-origin request refused: actions are taken from the console's own pages only",
			Code: model.EUNAUTHORIZED})
	}))
	c.mux.Handle("POST "+ws+"/approve", guard.Handler(c.authorized(c.approve)))
	c.mux.Handle("POST "+ws+"/targets/{resource}/{environment}/{deployment}/redeploy", guard.Handler(c.authorized(c.redeploy)))
}

// ServeHTTP implements http.Handler. A path or method no route takes gets
// the console's own error page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if _, pattern := c.mux.Handler(r); pattern == "" {
		rec := probe(c.mux, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			h.Set("Allow", rec.header.Get("Allow"))
			c.renderError(w, r, rec.status, r.Method+" is not allowed on "+r.URL.Path+".")
		case http.StatusNotFound:
			c.renderError(w, r, rec.status, "There is no page at "+r.URL.Path+".")
		default:
			// A redirect to the cleaned path.
			for k, v := range rec.header {
				h[k] = v
			}
			w.WriteHeader(rec.status)
		}
		return
	}
	c.mux.ServeHTTP(w, r)
}

// probe returns what ServeMux answers r with when no route takes it: 404,
// 405 for a path some route takes with another method, or a redirect to a
// cleaned path.
func probe(mux *http.ServeMux, r *http.Request) *statusRecorder {
	rec := &statusRecorder{header: http.Header{}}
	h, _ := mux.Handler(r)
	h.ServeHTTP(rec, r)
	return rec
}

type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
}
func (s *statusRecorder) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}

// authorized requires the bearer token, answering a JSON error without it,
// and passes the caller it names on in the request's context.
func (c *Console) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, challenge, ok := c.check(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", challenge)
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: "missing or wrong bearer token", Code: model.EUNAUTHORIZED})
			return
		}
		next(w, r.WithContext(auth.WithCaller(r.Context(), caller)))
	}
}
