package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// tcpProxy forwards connections to a PostgreSQL server until it is cut,
// and can play the network faults a database client meets:
//   - cut: the listener and every forwarded connection close, so that to
//     its clients the server looks down (connections reset, new ones
//     refused); restore listens on the same address again.
//   - partition: no byte passes in either direction and nothing is closed,
//     as when packets are dropped; heal ends it by cutting and restoring.
//   - swallowCommit: the next COMMIT a client sends reaches the server, so
//     the server commits, but its answer never reaches the client; the
//     connection is then cut, or left silent until the next cut.
//
// The client-to-server stream is read as PostgreSQL's protocol (a startup
// message, then type byte, length, body) to find the COMMIT; the other
// direction is copied as it comes.
type tcpProxy struct {
	target string
	addr   string

	mu     sync.Mutex
	ln     net.Listener // nil while cut
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	stall  chan struct{} // non-nil while partitioned; closed to release
	commit commitFault   // armed for the next COMMIT
	// swallowed is signalled when a COMMIT was passed on and its answer
	// dropped.
	swallowed chan struct{}
}

// commitFault is what swallowCommit does with the connection after it
// dropped the answer.
type commitFault int

const (
	commitPass    commitFault = iota // not armed
	commitAndCut                     // cut the connection
	commitAndHang                    // leave it open, silent
)

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}, swallowed: make(chan struct{}, 1)}
	p.restore(t)
	t.Cleanup(p.cut)
	return p
}

// proxiedDSN returns dsn with its host replaced by a proxy's address.
func proxiedDSN(t *testing.T, dsn string) (string, *tcpProxy) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := startProxy(t, target)
	u.Host = p.addr
	return u.String(), p
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

// cut closes the listener and every forwarded connection, ends a
// partition, and returns when no byte can pass any more.
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
	if p.stall != nil {
		close(p.stall)
		p.stall = nil
	}
	p.commit = commitPass
	p.mu.Unlock()
	p.wg.Wait()
}

// partition stops every byte, on open connections and new ones alike.
func (p *tcpProxy) partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall == nil {
		p.stall = make(chan struct{})
	}
}

// heal ends a partition as a client sees it end: the connections that hung
// are gone, new ones work.
func (p *tcpProxy) heal(t testing.TB) {
	p.cut()
	p.restore(t)
}

// swallowCommit arms the fault for the next COMMIT of any connection.
func (p *tcpProxy) swallowCommit(then commitFault) {
	p.mu.Lock()
	p.commit = then
	p.mu.Unlock()
}

// wait blocks while the proxy is partitioned; it returns false when the
// connection must end (the proxy was cut meanwhile).
func (p *tcpProxy) wait() bool {
	p.mu.Lock()
	stall := p.stall
	p.mu.Unlock()
	if stall == nil {
		return true
	}
	<-stall
	return false
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

// link is one forwarded connection.
type link struct {
	p              *tcpProxy
	client, server net.Conn
	// dropping is set once a COMMIT's answer is to be dropped: to what
	// happens next.
	dropping atomic.Int32
}

func (p *tcpProxy) forward(client net.Conn) {
	if !p.wait() {
		_ = client.Close()
		return
	}
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
	l := &link{p: p, client: client, server: server}
	done := make(chan struct{})
	go func() {
		l.clientToServer()
		// Either side ending ends both, as a dead server would.
		_ = server.Close()
		_ = client.Close()
		close(done)
	}()
	l.serverToClient()
	_ = client.Close()
	_ = server.Close()
	<-done
}

// clientToServer passes the client's messages on one at a time, arming the
// link when one is the COMMIT the proxy waits for.
func (l *link) clientToServer() {
	r := bufio.NewReader(l.client)
	startup := true
	for {
		msg, typ, body, err := readMessage(r, startup)
		if err != nil {
			return
		}
		if startup {
			// SSL and GSS encryption requests come before the startup
			// message proper; the test servers refuse them.
			startup = len(body) >= 4 && (binary.BigEndian.Uint32(body) == 80877103 || binary.BigEndian.Uint32(body) == 80877104)
		}
		if !l.p.wait() {
			return
		}
		if typ == 'Q' && strings.EqualFold(strings.TrimSpace(strings.TrimRight(string(body), "\x00")), "commit") {
			l.p.mu.Lock()
			fault := l.p.commit
			l.p.commit = commitPass
			l.p.mu.Unlock()
			l.dropping.Store(int32(fault))
		}
		if _, err := l.server.Write(msg); err != nil {
			return
		}
	}
}

// serverToClient copies the server's bytes, dropping them once a COMMIT's
// answer is to be swallowed.
func (l *link) serverToClient() {
	buf := make([]byte, 32<<10)
	for {
		n, err := l.server.Read(buf)
		if n > 0 {
			if fault := commitFault(l.dropping.Load()); fault != commitPass {
				select {
				case l.p.swallowed <- struct{}{}:
				default:
				}
				if fault == commitAndCut {
					return
				}
				continue
			}
			if !l.p.wait() {
				return
			}
			if _, werr := l.client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// readMessage reads one frontend message: untyped (length, body) while
// startup, else type byte, length, body. msg is the message's bytes as
// read.
func readMessage(r *bufio.Reader, startup bool) (msg []byte, typ byte, body []byte, err error) {
	var head []byte
	if !startup {
		if typ, err = r.ReadByte(); err != nil {
			return nil, 0, nil, err
		}
		head = append(head, typ)
	}
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n < 4 {
		return nil, 0, nil, fmt.Errorf("message length %d", n)
	}
	body = make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, 0, nil, err
	}
	msg = append(append(head, size[:]...), body...)
	return msg, typ, body, nil
}

// TestMain_PostgresConnectionLost loses the connection to PostgreSQL under
// a running Main: events are refused with 503 and leave no trace in memory,
// reads keep working, and once PostgreSQL is back events succeed again
// without a restart. The database then holds exactly the acknowledged
// events.
func TestMain_PostgresConnectionLost(t *testing.T) {
	direct := sqltest.DSN(t, sqlstore.DialectPostgres)
	proxied, proxy := proxiedDSN(t, direct)

	m := startMain(t, proxied)
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
