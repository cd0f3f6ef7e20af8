package api

import (
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// observe answers r through serve and then records it: the latency
// histogram, and one log line with the method, route pattern, status,
// duration in milliseconds and workspace (plus the trace id when the
// request is traced). Probes and scrapes log at DEBUG, everything else at
// INFO.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request) string) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	pattern := serve(sw, r)
	d := time.Since(start)
	status := sw.statusCode()
	route := routeOf(pattern)
	s.metrics.observeRequest(r.Method, route, status, d)

	level := slog.LevelInfo
	switch r.URL.Path {
	case "/livez", "/readyz", "/metrics":
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
		slog.Float64("durationMs", float64(d.Microseconds())/1000)}
	if ws := r.PathValue("ws"); ws != "" {
		attrs = append(attrs, slog.String("workspace", ws))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("traceId", sc.TraceID().String()))
	}
	s.logger.LogAttrs(ctx, level, "request", attrs...)
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes a streamed answer on (server-sent events).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusCode is the status answered; 200 when the handler wrote nothing.
func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
