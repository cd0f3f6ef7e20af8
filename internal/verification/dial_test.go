package verification

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRefusal(t *testing.T) {
	refused := []string{"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "fc00::1", "fd00:ec2::254", "169.254.169.254", "fe80::1", "0.0.0.0", "0.1.2.3", "::",
		"224.0.0.1", "239.1.2.3", "ff02::1", "ff01::1", "100.64.0.1", "100.127.255.254"}
	allowed := []string{"8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"}
	for _, s := range refused {
		if why := refusal(netip.MustParseAddr(s)); why == "" {
			t.Errorf("%s is not refused", s)
		}
	}
	for _, s := range allowed {
		if why := refusal(netip.MustParseAddr(s)); why != "" {
			t.Errorf("%s is refused as %s", s, why)
		}
	}
}

// TestProviders_RefuseNonPublicTargets: every HTTP-speaking provider
// refuses, by default, to connect to a non-public address, whether the URL
// names it or a name resolving to it; nothing reaches the server.
func TestProviders_RefuseNonPublicTargets(t *testing.T) {
	srv, calls := server(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) {
		t.Errorf("the refused target got %s %s", r.Method, r.URL)
	})
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	specs := map[string]map[string]any{
		"http":                   {"type": "http", "url": srv.URL + "/health"},
		"http by name":           {"type": "http", "url": "http://localhost" + port + "/health"},
		"http, IPv6 loopback":    {"type": "http", "url": "http://[::1]" + port + "/health"},
		"http, metadata service": {"type": "http", "url": "http://169.254.169.254/latest/meta-data/", "timeout": "2s"},
		"http, private network":  {"type": "http", "url": "https://10.255.255.1/", "timeout": "2s"},
		"prometheus":             {"type": "prometheus", "address": srv.URL, "query": "up"},
		"datadog":                {"type": "datadog", "address": srv.URL, "apiKey": "a", "appKey": "b", "query": "q"},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			p, err := NewProvider(spec, Deps{Client: srv.Client(), Now: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Measure(context.Background())
			if !errors.Is(err, ErrPrivateAddress) {
				t.Fatalf("err = %v, want %v", err, ErrPrivateAddress)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the server got %d requests", n)
	}
}

// TestProviders_AllowPrivate: the operator's switch lets the same request
// through.
func TestProviders_AllowPrivate(t *testing.T) {
	srv, calls := server(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) {})
	p, err := NewProvider(map[string]any{"type": "http", "url": srv.URL + "/health"}, Deps{Client: srv.Client(), AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := p.Measure(context.Background()); err != nil || res["ok"] != true || calls.Load() != 1 {
		t.Errorf("allowed private target: result %v, err %v, %d requests", res, err, calls.Load())
	}
}
