package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpCollector is an httptest server speaking OTLP/HTTP with protobuf
// bodies, as a collector does; it keeps the span names it receives.
type otlpCollector struct {
	mu    sync.Mutex
	spans []string
	// services are the service.name of each resource received.
	services []string
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				c.services = append(c.services, kv.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, s.Name)
			}
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func TestMain_ExportsTracesOverOTLP(t *testing.T) {
	collector := &otlpCollector{}
	srv := httptest.NewServer(collector)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "gatehouse-eu")
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })

	rm := startMain(t, "memory")
	c := newAPIClient(t, rm.Addr(), "ws-traces")
	c.mustApply("system.created", fxSystem("s1"))
	rm.stop(t) // Close flushes the exporter

	collector.mu.Lock()
	defer collector.mu.Unlock()
	found := false
	for _, name := range collector.spans {
		found = found || name == "store.UpsertSystem"
	}
	if !found {
		t.Fatalf("the collector did not receive a store.UpsertSystem span; got %v", collector.spans)
	}
	for _, name := range collector.services {
		if name != "gatehouse-eu" {
			t.Errorf("spans came with service.name %q, want OTEL_SERVICE_NAME's gatehouse-eu", name)
		}
	}
	if len(collector.services) == 0 {
		t.Error("no resource came with a service.name")
	}
}

func TestTracingResource_ServiceName(t *testing.T) {
	for _, tc := range []struct{ env, attrs, want string }{
		{"", "", "gatehouse"},
		{"deployer", "", "deployer"},
		{"", "service.name=from-attributes,deployment.environment=prod", "from-attributes"},
		{"deployer", "service.name=from-attributes", "deployer"},
	} {
		t.Setenv("OTEL_SERVICE_NAME", tc.env)
		t.Setenv("OTEL_RESOURCE_ATTRIBUTES", tc.attrs)
		res, err := tracingResource(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := res.Set().Value("service.name")
		if got.AsString() != tc.want {
			t.Errorf("OTEL_SERVICE_NAME=%q OTEL_RESOURCE_ATTRIBUTES=%q: service.name %q, want %q", tc.env, tc.attrs, got.AsString(), tc.want)
		}
	}
}

func TestOpen_RefusesTracingSettingsItCannotHonour(t *testing.T) {
	for name, value := range map[string]string{"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
			t.Setenv(name, value)
			m, err := Open(context.Background(), testConfig("memory"))
			if err == nil {
				m.Close()
				t.Fatal("Open accepted it")
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("the error does not name %s: %v", name, err)
			}
		})
	}
}
