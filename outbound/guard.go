package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Guard is the address policy for endpoints: https only, and no private,
// loopback, link-local or otherwise internal address, unless allowed. The
// address is checked when the connection is dialled, after DNS resolution,
// so a name that resolves (or rebinds) to an internal address is refused
// too.
type Guard struct {
	// AllowInsecure permits http:// and every address (local development
	// and tests: WEBHOOKS_ALLOW_INSECURE).
	AllowInsecure bool
	// AllowHTTP permits http:// without opening internal addresses.
	AllowHTTP bool
	// AllowNetworks are internal networks endpoints may reach anyway
	// (WEBHOOKS_ALLOW_NETWORKS).
	AllowNetworks []netip.Prefix
}

// ErrBlockedAddress: the endpoint's address is internal and not allowed.
var ErrBlockedAddress = errors.New("address refused: private, loopback and link-local addresses are not reachable from webhooks")

// internal are the ranges no endpoint may reach unless allowed, beside
// what netip classifies (loopback, private, link-local, multicast,
// unspecified).
var internal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach internal IPv4
	netip.MustParsePrefix("2002::/16"),    // 6to4 likewise
}

// Allowed reports whether an endpoint may connect to ip.
func (g Guard) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if g.AllowInsecure {
		return true
	}
	for _, p := range g.AllowNetworks {
		if p.Contains(ip) {
			return true
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range internal {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// CheckURL says what is wrong with an endpoint's address under the policy
// ("" when nothing), for the form that registers it. A host name is
// checked again at every delivery, after resolution.
func (g Guard) CheckURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "enter the full address of your receiver, such as https://example.com/webhooks/entitle"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !g.AllowInsecure && !g.AllowHTTP {
			return "use https: events carry your customers' data (plain http is only allowed with WEBHOOKS_ALLOW_INSECURE)"
		}
	default:
		return "use an https:// address"
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil && !g.Allowed(ip) {
		return "this address is private, loopback or link-local, which webhooks may not reach"
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		if !g.Allowed(netip.MustParseAddr("127.0.0.1")) {
			return "this address is private, loopback or link-local, which webhooks may not reach"
		}
	}
	return ""
}

// control refuses a connection to an address the policy does not allow;
// the dialer calls it with the resolved address, for every connection.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w (%s)", ErrBlockedAddress, ap.Addr())
	}
	return nil
}

// Timeout bounds one delivery attempt: connecting, sending and the answer.
const Timeout = 10 * time.Second

// Client is the HTTP client deliveries use: the guard at dial time, no
// proxy (it would dial on our behalf, past the guard), no redirects (a
// redirect is a failed delivery), a 10 s timeout.
func (g Guard) Client() *http.Client {
	dialer := &net.Dialer{Timeout: Timeout, KeepAlive: 30 * time.Second, Control: g.control}
	return &http.Client{
		Timeout: Timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   Timeout,
			ResponseHeaderTimeout: Timeout,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
