package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/oidcdemo"
	"github.com/entitle-dev/entitle/sso"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// txtRecords is a DNS resolver answering from a table.
type txtRecords struct {
	mu      sync.Mutex
	records map[string][]string
}

func (r *txtRecords) LookupTXT(_ context.Context, name string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.records[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *txtRecords) publish(name, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records[name] = append(r.records[name], value)
}

// ssoRig is the demo portal with a real OpenID provider on loopback: the
// demo Enterprise account Hooli uses it (client "entitle-test"); a second
// client "other-app" is registered too.
type ssoRig struct {
	*portal
	idp *oidcdemo.Provider
	// clock is the relying party's: it does not move unless a test moves
	// it. The provider stamps tokens with its own (real) time; a clock set
	// well before that keeps them valid, one set after they expire makes
	// them expired.
	clock *storetest.Clock
	dns   *txtRecords
	hooli int64
}

const (
	ssoClientID     = "entitle-test"
	ssoClientSecret = "entitle-test-secret"
	ssoPassword     = "idp-password"
)

var ssoUsers = []oidcdemo.User{
	{Subject: "sub-jared", Email: "jared@hooli.test", Password: ssoPassword, Name: "Jared Dunn", EmailVerified: true, Groups: []string{store.DemoSSOGroup}},
	{Subject: "sub-monica", Email: "monica@hooli.test", Password: ssoPassword, Name: "Monica Hall", EmailVerified: true},
	{Subject: "sub-owner", Email: "owner@hooli.test", Password: ssoPassword, Name: "Owner of Hooli", EmailVerified: true},
}

// newSSORig starts the portal and the provider, and points Hooli at it
// (settings, verified domain hooli.test, group Engineering with a seat
// rule), the way `make run` does.
func newSSORig(t testing.TB) *ssoRig {
	r, _ := newSSORigWithBilling(t)
	return r
}

// newSSORigWithBilling is newSSORig with the billing simulator in reach.
func newSSORigWithBilling(t testing.TB) (*ssoRig, *billing.Billing) {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	r := &ssoRig{clock: storetest.NewClock(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)), dns: &txtRecords{records: map[string][]string{}}}
	svc := sso.New(s, r.clock, nil, r.dns)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := billing.New(s, nil, logger, billing.Config{PublicURL: "http://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	e := web.New(web.Options{Store: s, Logger: logger, Billing: b,
		SessionSecret: []byte("test-secret-test-secret-test-secret!"), SSO: svc})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	r.portal = &portal{t: t, srv: srv, store: s, client: newClient()}
	callback := []string{srv.URL + "/sso/callback"}
	idp, err := oidcdemo.Start("127.0.0.1:0", []oidcdemo.Client{
		{ID: ssoClientID, Secret: ssoClientSecret, RedirectURIs: callback},
		{ID: "other-app", Secret: "other-secret", RedirectURIs: callback},
	}, ssoUsers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })
	r.idp = idp
	if err := s.ConfigureDemoSSO(context.Background(), idp.Issuer, ssoClientID, ssoClientSecret, nil); err != nil {
		t.Fatal(err)
	}
	acct, err := s.AccountBySlug(context.Background(), store.DemoSSOAccount)
	if err != nil {
		t.Fatal(err)
	}
	r.hooli = acct.ID
	return r, b
}

// startSSO posts the sign-in form with the password left empty and
// answers the provider's authorization URL the portal sent the browser to.
func (r *ssoRig) startSSO(c *http.Client, email string) string {
	r.t.Helper()
	_, doc := r.get(c, "/login")
	res, _ := r.post(c, "/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {email}, "password": {""}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, r.idp.Issuer) {
		r.t.Fatalf("sign-in of %s was not sent to the provider: %d → %q", email, res.StatusCode, loc)
	}
	return loc
}

// atProvider follows the authorization URL, signs in on the provider's
// form, and answers the callback URL the provider sends the browser back
// to (not yet followed).
func (r *ssoRig) atProvider(c *http.Client, authURL, email string) string {
	r.t.Helper()
	next := authURL
	for i := 0; i < 5; i++ {
		res, err := c.Get(next)
		if err != nil {
			r.t.Fatal(err)
		}
		res.Body.Close()
		loc, err := res.Request.URL.Parse(res.Header.Get("Location"))
		if err != nil || res.Header.Get("Location") == "" {
			r.t.Fatalf("provider stopped at %s: %d", next, res.StatusCode)
		}
		if loc.Path == "/login/username" {
			res, err := c.PostForm(loc.Scheme+"://"+loc.Host+"/login/username",
				url.Values{"id": {loc.Query().Get("authRequestID")}, "username": {email}, "password": {ssoPassword}})
			if err != nil {
				r.t.Fatal(err)
			}
			res.Body.Close()
			if loc, err = res.Request.URL.Parse(res.Header.Get("Location")); err != nil || res.StatusCode != http.StatusFound {
				r.t.Fatalf("provider refused %s: %d", email, res.StatusCode)
			}
		}
		if strings.HasPrefix(loc.String(), r.srv.URL+"/sso/callback") {
			return loc.String()
		}
		next = loc.String()
	}
	r.t.Fatalf("provider never sent %s back", email)
	return ""
}

// signInThroughIdP runs the whole round trip for email and answers the
// portal's response to the callback.
func (r *ssoRig) signInThroughIdP(c *http.Client, email string) *http.Response {
	r.t.Helper()
	cb := r.atProvider(c, r.startSSO(c, email), email)
	res, err := c.Get(cb)
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

// count runs a count query in the test database.
func (r *ssoRig) count(query string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.store.DB().Get(&n, query, args...); err != nil {
		r.t.Fatal(err)
	}
	return n
}

// eventually waits (10 s at most) for what the background reconciler does
// right after a commit, such as the seat a rule gives.
func (r *ssoRig) eventually(what string, cond func() bool) {
	r.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("never happened: %s", what)
		}
	}
}
