package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// tcpProxy forwards connections to target until it is cut. Cutting closes
// the listener and every forwarded connection, so that to its clients the
// server looks down (connections reset, new ones refused); restoring listens
// on the same address again.
type tcpProxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.restore(t)
	t.Cleanup(p.cut)
	return p
}

// restore listens on the proxy's address (the first call picks the port).
func (p *tcpProxy) restore(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy listen on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.forward(c) })
		}
	})
}

// cut closes the listener and every forwarded connection and returns when
// no byte can pass any more.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

// track registers conns for cut; it refuses them when the proxy was cut
// after they were accepted.
func (p *tcpProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *tcpProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
		_ = c.Close()
	}
}

func (p *tcpProxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client, server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	defer p.untrack(client, server)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(server, client)
		// Either side ending ends both, as a dead server would.
		_ = server.Close()
		_ = client.Close()
		close(done)
	}()
	_, _ = io.Copy(client, server)
	_ = client.Close()
	_ = server.Close()
	<-done
}

// TestMain_PostgresConnectionLost loses the connection to PostgreSQL under
// a running Main: events are refused with 503 and leave no trace in memory,
// reads keep working, and once PostgreSQL is back events succeed again
// without a restart. The database then holds exactly the acknowledged
// events.
func TestMain_PostgresConnectionLost(t *testing.T) {
	direct := sqltest.DSN(t, sqlstore.DialectPostgres)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	proxy := startProxy(t, target)
	u.Host = proxy.addr

	m := startMain(t, u.String())
	c := newAPIClient(t, m.Addr(), "ws-proxy")
	setupPipeline(c)
	for _, id := range []string{"ok-1", "ok-2"} {
		c.mustApply("resource.created", fxResource(id, "Cluster", map[string]string{}))
	}
	before := dumpState(t, c)

	proxy.cut()
	refused := []struct {
		eventType string
		data      any
	}{
		{"resource.created", fxResource("lost-1", "Cluster", map[string]string{})},
		{"resource.created", fxResource("lost-2", "Cluster", map[string]string{})},
		// A version touches every target: releases and jobs for each.
		{"deployment-version.created", fxVersion("v-lost", "api")},
	}
	for _, ev := range refused {
		status, body, err := c.post(ev.eventType, ev.data)
		if err != nil {
			t.Fatalf("POST %s while PostgreSQL is down: %v", ev.eventType, err)
		}
		var answer struct {
			Error string `json:"error"`
		}
		if status != http.StatusServiceUnavailable || json.Unmarshal(body, &answer) != nil || answer.Error == "" {
			t.Errorf("POST %s while PostgreSQL is down: %d %s, want 503 with an error", ev.eventType, status, body)
		}
	}
	// Reads are served from memory, which must not show the refused events.
	assertSameState(t, "while PostgreSQL is down", dumpState(t, c), before)
	if status, _ := c.get("resources/lost-1"); status != http.StatusNotFound {
		t.Errorf("GET a refused resource while PostgreSQL is down: %d, want 404", status)
	}

	proxy.restore(t)
	// The first event after the outage must succeed: the pool has to drop
	// the connections that died and dial new ones by itself.
	c.mustApply("resource.created", fxResource("ok-3", "Cluster", map[string]string{}))
	c.mustApply("deployment-version.created", fxVersion("v2", "api"))
	if n := len(c.list("jobs", "resourceId=ok-3")); n == 0 {
		t.Errorf("after the outage: resource ok-3 has no job")
	}
	for _, id := range []string{"lost-1", "lost-2"} {
		if status, _ := c.get("resources/" + id); status != http.StatusNotFound {
			t.Errorf("GET refused resource %s after the outage: %d, want 404", id, status)
		}
	}
	acknowledged := dumpState(t, c)
	m.stop(t)

	// A fresh Main straight on the database sees exactly what was
	// acknowledged: nothing of the refused events was written either.
	fresh := startMain(t, direct)
	assertSameState(t, "restored without the proxy", dumpState(t, newAPIClient(t, fresh.Addr(), "ws-proxy")), acknowledged)
}
