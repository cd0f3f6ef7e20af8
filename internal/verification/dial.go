package verification

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// ErrPrivateAddress is returned (wrapped) by a measurement whose connection
// would go to an address the operator has not allowed: loopback, private,
// link-local, unspecified, multicast or shared (RFC 6598) space.
var ErrPrivateAddress = errors.New("verification target refused")

// refusedPrefixes are the special ranges refused besides those netip
// names (loopback, private, link-local, multicast, unspecified).
var refusedPrefixes = []struct {
	prefix netip.Prefix
	what   string
}{
	// Linux connects 0.x.x.x to the host itself.
	{netip.MustParsePrefix("0.0.0.0/8"), "a 'this network' address"},
	// Carrier-grade NAT space, used inside clouds and overlay networks.
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared address"},
}

// refusal says why a connection to ip is refused, or "" when it is not.
func refusal(ip netip.Addr) string {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, p := range refusedPrefixes {
		if p.prefix.Contains(ip) {
			return p.what
		}
	}
	return ""
}

// refusePrivate is a net.Dialer Control hook: it sees the address actually
// being connected to, after name resolution and for every redirect, so
// neither a DNS answer nor a redirect can lead a measurement to an address
// the URL's text would not show.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot check the address %q", ErrPrivateAddress, address)
	}
	if why := refusal(ap.Addr()); why != "" {
		return fmt.Errorf("%w: %s is %s; private targets are measured only when the server runs with "+
			"--verification-allow-private", ErrPrivateAddress, address, why)
	}
	return nil
}

// guardedClients caches one guarded client per base client, so that
// measurements share connections.
var guardedClients sync.Map // *http.Client → *http.Client

// guarded returns a client like base whose connections are refused unless
// they go to a public address. It keeps base's TLS settings and timeouts
// but not its proxy (the check must see the real target, not a proxy) nor a
// custom dialer; a base whose transport is not an *http.Transport cannot be
// guarded and is replaced by a copy of http.DefaultTransport.
func guarded(base *http.Client) *http.Client {
	if c, ok := guardedClients.Load(base); ok {
		return c.(*http.Client)
	}
	t, ok := base.Transport.(*http.Transport)
	if !ok {
		t = http.DefaultTransport.(*http.Transport)
	}
	t = t.Clone()
	t.Proxy = nil
	t.DialTLSContext = nil
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refusePrivate}).DialContext
	c := *base
	c.Transport = t
	actual, _ := guardedClients.LoadOrStore(base, &c)
	return actual.(*http.Client)
}
