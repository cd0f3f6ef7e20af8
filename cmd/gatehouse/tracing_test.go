package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// spanSink is a span processor keeping every ended span in memory and
// telling waiters about each, for tests of what a request's trace holds.
type spanSink struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
	ended chan struct{}
}

func (s *spanSink) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (s *spanSink) Shutdown(context.Context) error                  { return nil }
func (s *spanSink) ForceFlush(context.Context) error                { return nil }
func (s *spanSink) OnEnd(span sdktrace.ReadOnlySpan) {
	s.mu.Lock()
	s.spans = append(s.spans, span)
	s.mu.Unlock()
	select {
	case s.ended <- struct{}{}:
	default:
	}
}

// installSpanSink makes a spanSink the global tracer provider's only
// processor for the test.
func installSpanSink(t *testing.T) *spanSink {
	sink := &spanSink{ended: make(chan struct{}, 1)}
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sink)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return sink
}

// waitFor returns the spans recorded once one satisfies match: a server
// span ends just after its response is written, so the client may see the
// answer first.
func (s *spanSink) waitFor(t *testing.T, what string, match func(sdktrace.ReadOnlySpan) bool) []sdktrace.ReadOnlySpan {
	t.Helper()
	timeout := time.After(30 * time.Second) // a bound on a broken test, not a wait for the result
	for {
		s.mu.Lock()
		spans := append([]sdktrace.ReadOnlySpan(nil), s.spans...)
		s.mu.Unlock()
		for _, sp := range spans {
			if match(sp) {
				return spans
			}
		}
		select {
		case <-s.ended:
		case <-timeout:
			t.Fatalf("no span %s was recorded", what)
		}
	}
}

func TestMain_TracesEachRequestAsOneTrace(t *testing.T) {
	sink := installSpanSink(t)
	rm := startMain(t, sqltest.DSN(t, sqlstore.DialectSQLite))
	c := newAPIClient(t, rm.Addr(), "ws-one-trace")
	c.mustApply("system.created", fxSystem("sys"))
	c.mustApply("job-agent.created", fxAgent("agent"))
	c.mustApply("environment.created", fxEnvironment("prod", fxCEL("true")))
	c.mustApply("system-environment.linked", map[string]any{"systemId": "sys", "environmentId": "prod"})
	c.mustApply("deployment.created", fxDeployment("api", "agent", fxCEL("true")))
	c.mustApply("system-deployment.linked", map[string]any{"systemId": "sys", "deploymentId": "api"})
	c.mustApply("resource.created", fxResource("r1", "Cluster", map[string]string{}))

	// The caller's trace context: the request's span must be its child.
	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	batch, _ := json.Marshal([]map[string]any{
		c.event("deployment-version.created", fxVersion("v1", "api")),
		c.event("resource.created", fxResource("r2", "Cluster", map[string]string{})),
	})
	req, _ := http.NewRequest(http.MethodPost, "http://"+rm.Addr()+"/v1/workspaces/ws-one-trace/events", bytes.NewReader(batch))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("events answered %d", resp.StatusCode)
	}
	const route = "POST /v1/workspaces/{ws}/events"
	spans := sink.waitFor(t, route, func(s sdktrace.ReadOnlySpan) bool {
		return s.Name() == route && s.SpanContext().TraceID().String() == traceID
	})

	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var inTrace []sdktrace.ReadOnlySpan
	var server sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanContext().TraceID().String() != traceID {
			continue
		}
		byID[s.SpanContext().SpanID()] = s
		inTrace = append(inTrace, s)
		if s.SpanKind() == trace.SpanKindServer {
			if server != nil {
				t.Fatalf("two server spans in the trace: %s and %s", server.Name(), s.Name())
			}
			server = s
		}
	}
	if server == nil || server.Name() != route || server.Parent().SpanID().String() != callerSpan || !server.Parent().IsRemote() {
		t.Fatalf("the request's span is not a child of the caller's span %s: %+v", callerSpan, server)
	}
	names := map[string]bool{}
	for _, s := range inTrace {
		names[s.Name()] = true
		if s == server {
			continue
		}
		// Every other span of the trace descends from the request's span.
		p, hops := s, 0
		for p != server && hops < 100 {
			next, ok := byID[p.Parent().SpanID()]
			if !ok {
				t.Fatalf("span %s does not descend from the request's span", s.Name())
			}
			p, hops = next, hops+1
		}
	}
	for _, want := range []string{"engine.Event deployment-version.created", "engine.Event resource.created",
		"engine.Reconcile", "engine.Plan", "store.UpsertDeploymentVersion", "store.UpsertResource", "store.UpsertRelease",
		"store.UpsertJob", "store.Commit", "sqlstore.Persist"} {
		if !names[want] {
			t.Errorf("the request's trace has no %s span", want)
		}
	}
	// Whatever else ran meanwhile, no store write was traced as a root.
	for _, s := range spans {
		if strings.HasPrefix(s.Name(), "store.") && !s.Parent().IsValid() {
			t.Errorf("%s is a root span", s.Name())
		}
	}

	// Reads are traced too, each its own trace without a caller.
	c.list("release-targets", "")
	const read = "GET /v1/workspaces/{ws}/release-targets"
	sink.waitFor(t, read, func(s sdktrace.ReadOnlySpan) bool {
		return s.Name() == read && s.SpanKind() == trace.SpanKindServer && !s.Parent().IsValid()
	})
}
