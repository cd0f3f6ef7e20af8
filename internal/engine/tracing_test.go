package engine

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recordSpans makes a span recorder the global tracer provider for the
// test. Spans end synchronously with the work that opens them, so they are
// all recorded when Apply returns.
func recordSpans(t *testing.T) (*tracetest.SpanRecorder, trace.Tracer) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return rec, tp.Tracer("test")
}

// spanTree indexes recorded spans by id.
type spanTree map[trace.SpanID]sdktrace.ReadOnlySpan

func treeOf(spans []sdktrace.ReadOnlySpan) spanTree {
	out := spanTree{}
	for _, s := range spans {
		out[s.SpanContext().SpanID()] = s
	}
	return out
}

// parentName is the name of a span's parent, "" for a root.
func (tr spanTree) parentName(s sdktrace.ReadOnlySpan) string {
	if p, ok := tr[s.Parent().SpanID()]; ok {
		return p.Name()
	}
	return ""
}

// named returns the spans called name.
func named(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func TestEngine_Tracing_EventsUnderTheCallersSpan(t *testing.T) {
	rec, tracer := recordSpans(t)
	h := newHarness(t)
	world(h, "r1")
	rec.Reset()

	ctx, parent := tracer.Start(context.Background(), "request")
	raw, _ := json.Marshal(version("v1", time.Time{}, ""))
	if err := h.eng.Apply(ctx, h.ws, []Event{{Type: "deployment-version.created", Data: raw}}); err != nil {
		t.Fatal(err)
	}
	parent.End()

	spans := rec.Ended()
	tree := treeOf(spans)
	for _, s := range spans {
		if s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("span %s is in another trace", s.Name())
		}
	}
	wantParent := map[string]string{
		"engine.Event deployment-version.created": "request",
		"store.UpsertDeploymentVersion":           "engine.Event deployment-version.created",
		"engine.Reconcile":                        "engine.Event deployment-version.created",
		"engine.Plan":                             "engine.Reconcile",
		"store.UpsertRelease":                     "engine.Reconcile",
		"store.UpsertJob":                         "engine.Reconcile",
	}
	for name, want := range wantParent {
		found := named(spans, name)
		if len(found) == 0 {
			t.Errorf("no %s span; got %d spans", name, len(spans))
			continue
		}
		for _, s := range found {
			if got := tree.parentName(s); got != want {
				t.Errorf("%s is a child of %q, want %q", name, got, want)
			}
		}
	}
}

func TestEngine_Tracing_ScheduledEvaluationIsARootSpan(t *testing.T) {
	rec, _ := recordSpans(t)
	h, _, timers := newScheduledHarness(t)
	world(h, "r1", "r2")
	h.must("policy.created", rolloutPolicy(60))
	h.must("deployment-version.created", version("v1", time.Time{}, ""))
	rec.Reset()

	timers.next(t).fire()
	spans := rec.Ended()
	tree := treeOf(spans)
	ticks := named(spans, "engine.Work workspace.tick")
	if len(ticks) != 1 || ticks[0].Parent().IsValid() {
		t.Fatalf("want one root span engine.Work workspace.tick, got %d", len(ticks))
	}
	for _, s := range spans {
		if s.SpanContext().TraceID() != ticks[0].SpanContext().TraceID() {
			t.Errorf("span %s (child of %q) is not in the tick's trace", s.Name(), tree.parentName(s))
		}
	}
	if jobs := named(spans, "store.UpsertJob"); len(jobs) != 1 || tree.parentName(jobs[0]) != "engine.Reconcile" {
		t.Errorf("the tick's job is not written under engine.Reconcile: %d store.UpsertJob spans", len(jobs))
	}
}
