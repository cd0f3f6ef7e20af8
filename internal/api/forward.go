package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Router says which process serves a workspace when several share a
// database (ownership.Leases, or the Kafka intake).
type Router interface {
	// Route returns "" when this process serves ws (it owns it, or took
	// it now), else the advertised address of the process that does.
	// write says whether the request changes the workspace. A workspace
	// that exists nowhere answers ENOTFOUND.
	Route(ctx context.Context, ws string, write bool) (string, error)
}

// TakerOver is a Router that can take a workspace over when its owner does
// not answer: a process that died keeps its lease until the lease runs
// out, and its workspaces would answer 503 until then.
type TakerOver interface {
	TakeOver(ctx context.Context, ws string) error
}

// forwardedHeader marks a request one process forwarded to another: it is
// never forwarded again, so two processes that disagree about an owner for
// a moment answer 503 instead of passing a request back and forth.
const forwardedHeader = "Gatehouse-Forwarded-By"

// forwarder sends requests on to the process owning their workspace.
type forwarder struct {
	self    string
	mu      sync.Mutex
	proxies map[string]*httputil.ReverseProxy
	count   *prometheus.CounterVec
	onError func(w http.ResponseWriter, r *http.Request, err error)
}

func newForwarder(self string, reg *prometheus.Registry, onError func(http.ResponseWriter, *http.Request, error)) *forwarder {
	f := &forwarder{self: self, proxies: map[string]*httputil.ReverseProxy{}, onError: onError,
		count: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_forwarded_requests_total",
			Help: "Requests for a workspace another process owns, by outcome: forwarded, unreachable (the owner did " +
				"not answer), taken_over (nothing listened there: the workspace was taken and served here), refused " +
				"(forwarded to this process, which does not own it either)."}, []string{"outcome"})}
	if reg != nil {
		reg.MustRegister(f.count)
	}
	return f
}

// takeOverKey carries, in a forwarded request's context, how to take its
// workspace over and serve it here.
type takeOverKey struct{}

// proxy returns the reverse proxy to addr, made once.
func (f *forwarder) proxy(addr string) *httputil.ReverseProxy {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.proxies[addr]; p != nil {
		return p
	}
	target := &url.URL{Scheme: "http", Host: addr}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(forwardedHeader, f.self)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			f.count.WithLabelValues("unreachable").Inc()
			// A request that never left (the dial failed) is served here
			// once the workspace is taken over.
			var op *net.OpError
			if takeOver, ok := r.Context().Value(takeOverKey{}).(func() bool); ok &&
				errors.As(err, &op) && op.Op == "dial" && takeOver() {
				return
			}
			f.onError(w, r, model.Errorf(model.EUNAVAILABLE, "the owner of workspace %s, at %s, did not answer: %v; retry shortly",
				r.PathValue("ws"), addr, err))
		},
	}
	f.proxies[addr] = p
	return p
}

// routed serves a workspace's request here when this process owns the
// workspace, and forwards it to its owner otherwise. An owner that cannot
// be reached at all (nothing listens there: it died) is taken over when
// the router can, and the request served here.
func (s *Server) routed(write bool, next http.Handler) http.Handler {
	if s.cfg.Router == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t, ok := s.cfg.Router.(TakerOver); ok {
			r = r.WithContext(context.WithValue(r.Context(), takeOverKey{}, func() bool {
				if t.TakeOver(r.Context(), r.PathValue("ws")) != nil {
					return false
				}
				s.fwd.count.WithLabelValues("taken_over").Inc()
				next.ServeHTTP(w, r)
				return true
			}))
		}
		ws := r.PathValue("ws")
		addr, err := s.cfg.Router.Route(r.Context(), ws, write)
		switch {
		case err != nil:
			s.writeError(w, r, err)
		case addr == "":
			next.ServeHTTP(w, r)
		case r.Header.Get(forwardedHeader) != "":
			s.fwd.count.WithLabelValues("refused").Inc()
			s.writeError(w, r, model.Errorf(model.EUNAVAILABLE,
				"workspace %s is moving between processes (%s forwarded this request here, and %s owns it); retry shortly",
				ws, r.Header.Get(forwardedHeader), addr))
		default:
			s.fwd.count.WithLabelValues("forwarded").Inc()
			s.fwd.proxy(addr).ServeHTTP(w, r)
		}
	})
}

// read is a workspace read route: authenticated, and served by the
// workspace's owner.
func (s *Server) read(h http.HandlerFunc) http.Handler { return s.auth(s.routed(false, h)) }

// write is a route of events: with a Submitter (Kafka) the process that
// receives them hands them over; without, the workspace's owner applies
// them.
func (s *Server) write(h http.HandlerFunc) http.Handler {
	if s.cfg.Submitter != nil {
		return s.auth(h)
	}
	return s.auth(s.routed(true, h))
}
