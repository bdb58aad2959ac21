package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// portal is a real server (real router, real database) and a browser-like
// client with a cookie jar that does not follow redirects.
type portal struct {
	t      testing.TB
	srv    *httptest.Server
	client *http.Client
	store  *store.Store
}

func newPortal(t *testing.T) *portal {
	t.Helper()
	return newPortalLogging(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// newPortalLogging is newPortal writing its log to logger.
func newPortalLogging(t *testing.T, logger *slog.Logger) *portal {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	e := web.New(web.Options{Store: s, Logger: logger, SessionSecret: []byte("test-secret-test-secret-test-secret!")})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &portal{t: t, srv: srv, store: s, client: newClient()}
}

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches a page and parses it.
func (p *portal) get(c *http.Client, path string) (*http.Response, *goquery.Document) {
	p.t.Helper()
	res, err := c.Get(p.srv.URL + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return res, doc
}

// post submits a form the way a browser does, with the CSRF token of the
// page it came from.
func (p *portal) post(c *http.Client, path string, form url.Values) (*http.Response, *goquery.Document) {
	p.t.Helper()
	res, err := c.PostForm(p.srv.URL+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	return res, doc
}

// postAndFollow posts a form and, as a browser does, follows the answer's
// redirect (Post/Redirect/Get) to the page that shows the outcome.
func (p *portal) postAndFollow(c *http.Client, path string, form url.Values) (*http.Response, *goquery.Document) {
	p.t.Helper()
	res, _ := p.post(c, path, form)
	if res.StatusCode != http.StatusSeeOther {
		p.t.Fatalf("POST %s answered %d, want a redirect to its page (303)", path, res.StatusCode)
	}
	return p.get(c, res.Header.Get("Location"))
}

func csrfToken(doc *goquery.Document) string {
	v, _ := doc.Find(`input[name="_csrf"]`).First().Attr("value")
	return v
}

// login signs in as email and returns the client holding the session.
func (p *portal) login(email string) *http.Client {
	p.t.Helper()
	c := newClient()
	_, doc := p.get(c, "/login")
	res, _ := p.post(c, "/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {email}, "password": {store.DemoPassword}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		p.t.Fatalf("login %s: %d → %s", email, res.StatusCode, res.Header.Get("Location"))
	}
	return c
}

func text(doc *goquery.Document, testid string) string {
	return strings.TrimSpace(doc.Find(`[data-testid="` + testid + `"]`).First().Text())
}

func TestOwnerSeesPlanSeatsAndEntitlements(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("owner@globex.test")
	res, doc := p.get(c, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("overview: %d", res.StatusCode)
	}
	for testid, want := range map[string]string{
		"plan-name": "Team", "plan-status": "Active", "seats-purchased": "10", "seats-assigned": "7", "current-account": "Globex",
	} {
		if got := text(doc, testid); got != want {
			t.Errorf("%s = %q, want %q", testid, got, want)
		}
	}
	rows := map[string]string{}
	doc.Find(`[data-testid="entitlement-row"]`).Each(func(_ int, s *goquery.Selection) {
		feature, _ := s.Attr("data-feature")
		reason, _ := s.Find(`[data-testid="feature-access"]`).Attr("data-reason")
		rows[feature] = reason + " " + strings.TrimSpace(s.Find(`[data-testid="feature-limit"]`).Text()) +
			" " + strings.TrimSpace(s.Find(`[data-testid="feature-used"]`).Text())
	})
	want := map[string]string{
		"dashboards": "ok — —", "exports": "not_in_plan — —", "sso": "not_in_plan — —",
		"api_calls": "ok 50,000 4,200", "projects": "ok 20 0",
	}
	for f, w := range want {
		if rows[f] != w {
			t.Errorf("feature %s: %q, want %q", f, rows[f], w)
		}
	}
}

func TestEachAccountSeesOnlyItsOwnOverview(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	_, doc := p.get(p.login("owner@initech.test"), "/")
	if got := text(doc, "plan-name"); got != "Business" {
		t.Errorf("Initech plan = %q", got)
	}
	if got := text(doc, "plan-status"); got != "Trial" {
		t.Errorf("Initech status = %q", got)
	}
	if doc.Find(`[data-testid="trial-countdown"]`).Length() != 1 {
		t.Error("Initech overview has no trial countdown")
	}
	_, doc = p.get(p.login("owner@umbrella.test"), "/")
	if doc.Find(`[data-testid="banner-past-due"]`).Length() != 1 {
		t.Error("Umbrella (past due) shows no grace banner")
	}
	if got := text(doc, "current-account"); got != "Umbrella" {
		t.Errorf("Umbrella sees account %q", got)
	}
}

func TestWrongPasswordAndUnknownEmailGetTheSameAnswer(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	answers := map[string]string{}
	for _, email := range []string{"owner@globex.test", "nobody@nowhere.test"} {
		c := newClient()
		_, doc := p.get(c, "/login")
		res, doc := p.post(c, "/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {email}, "password": {"wrong"}})
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", email, res.StatusCode)
		}
		answers[email] = text(doc, "login-error")
	}
	if answers["owner@globex.test"] != "Wrong email or password." || answers["owner@globex.test"] != answers["nobody@nowhere.test"] {
		t.Fatalf("answers differ or are unclear: %q", answers)
	}
}

func TestRepeatedWrongPasswordsAreSlowedDown(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := newClient()
	_, doc := p.get(c, "/login")
	token := csrfToken(doc)
	var res *http.Response
	for i := 0; i < 6; i++ {
		res, doc = p.post(c, "/login", url.Values{"_csrf": {token}, "email": {"owner@globex.test"}, "password": {"wrong"}})
	}
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("6th wrong password: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if !strings.Contains(text(doc, "login-error"), "Too many failed sign-ins") {
		t.Fatalf("message: %q", text(doc, "login-error"))
	}
}

func TestPagesNeedASession(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	res, _ := p.get(newClient(), "/")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous overview: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	// A forged cookie is no session either.
	c := newClient()
	u, _ := url.Parse(p.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "entitle_session", Value: "forged"}})
	if res, _ := p.get(c, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged cookie: %d", res.StatusCode)
	}
}

func TestStateChangesNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("owner@globex.test")
	res, doc := p.post(c, "/logout", url.Values{})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without token: %d, want 403", res.StatusCode)
	}
	if !strings.Contains(text(doc, "error-message"), "expired") {
		t.Errorf("message: %q", text(doc, "error-message"))
	}
	if res, _ := p.get(c, "/"); res.StatusCode != http.StatusOK {
		t.Fatalf("session ended by a forged logout: %d", res.StatusCode)
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("owner@globex.test")
	_, doc := p.get(c, "/")
	stolen := c.Jar.Cookies(mustURL(p.srv.URL))
	res, _ := p.post(c, "/logout", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	// Even a copy of the old cookie no longer works: the session row is gone.
	replay := newClient()
	replay.Jar.SetCookies(mustURL(p.srv.URL), stolen)
	if res, _ := p.get(replay, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("old cookie after logout: %d, want a redirect to /login", res.StatusCode)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if res, _ := p.get(newClient(), path); res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	p.store.DB().Close() // the database goes away
	if res, _ := p.get(newClient(), "/readyz"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz without a database: %d, want 503", res.StatusCode)
	}
	if res, _ := p.get(newClient(), "/healthz"); res.StatusCode != http.StatusOK {
		t.Errorf("/healthz without a database: %d, want 200 (the process is alive)", res.StatusCode)
	}
}

func TestUnknownPageIsA404Page(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	res, doc := p.get(p.login("owner@globex.test"), "/no-such-page")
	if res.StatusCode != http.StatusNotFound || text(doc, "error-message") == "" {
		t.Fatalf("%d %q", res.StatusCode, text(doc, "error-message"))
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
