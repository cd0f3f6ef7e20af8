package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// setupTracing sends spans over OTLP/HTTP when an OTLP endpoint is
// configured through the standard OTEL_EXPORTER_OTLP_* variables, and leaves
// the global tracer provider as it is (the no-op one) otherwise, or when
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Incoming W3C
// traceparent and baggage headers are honoured either way. The returned
// function flushes and stops the exporter.
func setupTracing(ctx context.Context) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	off := func(context.Context) error { return nil }
	on, err := tracingWanted()
	if err != nil || !on {
		return off, err
	}
	// The exporter reads the endpoint, headers, TLS and timeout settings
	// from the environment itself, and the SDK the sampler (OTEL_TRACES_SAMPLER)
	// and batching (OTEL_BSP_*) settings.
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	res, err := tracingResource(ctx)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// tracingWanted reads the standard variables that turn tracing on and off,
// refusing the values Gatehouse cannot honour.
func tracingWanted() (bool, error) {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	switch exp := os.Getenv("OTEL_TRACES_EXPORTER"); exp {
	case "none":
		return false, nil
	case "", "otlp":
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER: want otlp or none, got %q", exp)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := os.Getenv(name); p != "" && p != "http/protobuf" {
			return false, fmt.Errorf("%s: only http/protobuf is supported (the collector's port 4318), got %q", name, p)
		}
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
}

// tracingResource describes this process: service.name gatehouse and its
// version, overridden by OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
// with the SDK's and the host's attributes.
func tracingResource(ctx context.Context) (*resource.Resource, error) {
	b := readBuildInfo()
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "gatehouse"), attribute.String("service.version", b.Version)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessRuntimeVersion(),
		// Last, so that the environment overrides the defaults above.
		resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	return res, nil
}

// traced gives every request a server span, a child of the caller's span
// when the request carries a traceparent header, named after the route
// ("POST /v1/workspaces/{ws}/events"). Probes and scrapes are left out:
// they would outnumber everything else.
func traced(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "gatehouse", otelhttp.WithFilter(func(r *http.Request) bool {
		switch r.URL.Path {
		case "/livez", "/readyz", "/metrics":
			return false
		}
		return true
	}))
}
