package engine

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The engine's spans: a unit of work started by a request is traced under
// the request's span (the context given to Apply and the job methods);
// one started by the engine itself (a scheduled evaluation, a measurement)
// gets a root span of its own. Within a unit, the store's spans for each
// write and the commit are children of the span of what made them.

// startSpan opens a span with the global provider's tracer (a no-op until
// one is set). The tracer is looked up each time rather than kept: a
// tracer taken before the provider is set would stay bound to the first
// provider ever set.
func startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return otel.Tracer("gatehouse/engine").Start(ctx, name, trace.WithAttributes(attrs...))
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// traceTx opens a span under the transaction's context and makes it the
// parent of the transaction's spans until the returned function, which
// ends it with err's outcome, is called.
func traceTx(tx *store.Tx, name string, attrs ...attribute.KeyValue) func(err error) {
	ctx, span := startSpan(tx.Context(), name, attrs...)
	restore := tx.SetContext(ctx)
	return func(err error) {
		restore()
		endSpan(span, err)
	}
}

func workspaceAttr(id string) attribute.KeyValue { return attribute.String("workspace.id", id) }
