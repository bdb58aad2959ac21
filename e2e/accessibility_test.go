package e2e

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/twofactor"
	"github.com/entitle-dev/entitle/web"
)

// Links a crawl does not follow: downloads, streams and fragments that are
// not pages.
var notAPage = regexp.MustCompile(`\.(csv|json)$|^/static/|/stream$|/live$|^/settings/licence|^/logout$|^/admin/logout$`)

// crawlLimit keeps a crawl short; the navigation is visited first.
const crawlLimit = 25

// Every page every demo login can reach by following links, at the laptop's
// and the phone's width: no axe-core violation of impact serious or
// critical, no sideways scroll, no console error (the watcher fails the
// subtest on any of them).
//
// Each page is opened once and checked at both widths, narrowing or
// widening the window in between. The pages take turns at which width
// they are opened, and every other login starts at a phone's width, so a
// page most logins reach loads at both. A page opened once is one
// navigation and one start of axe-core fewer, Chromium's largest costs in
// this suite; the browser journeys open their pages at each width.
func TestEveryPageOfEveryDemoLoginIsAccessibleAtBothWidths(t *testing.T) {
	t.Parallel()
	db := storetest.NewDemo(t, nil)
	srv := httptest.NewServer(web.New(web.Options{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("e2e-secret-e2e-secret-e2e-secret!!")}))
	t.Cleanup(srv.Close)

	logins := []store.DemoLogin{
		{Email: "admin@globex.test", Where: "/login"},
		{Email: "billing@globex.test", Where: "/login"},
		{Email: "alice@globex.test", Where: "/login"},
	}
	logins = append(store.DemoLogins(), logins...)
	t.Run("signed-out", func(t *testing.T) {
		t.Parallel()
		s := open(t, srv.URL, db, desktopWidth)
		for _, path := range []string{"/login", "/admin/login"} {
			s.run(chromedp.Navigate(s.base + path))
			s.auditAtBothWidths()
		}
	})
	for i, login := range logins {
		t.Run(login.Email, func(t *testing.T) {
			t.Parallel()
			s := open(t, srv.URL, db, []int64{phoneWidth, desktopWidth}[i%2])
			start := "/"
			switch {
			case login.Where == "/admin/login" && strings.Contains(login.Role, "two-factor"):
				s.staffLoginWithCode(login.Email)
				start = "/admin"
			case login.Where == "/admin/login":
				s.staffLogin(login.Email)
				start = "/admin"
			default:
				s.signIn(login.Email)
			}
			visited := s.crawl(start)
			t.Logf("%d pages: %v", len(visited), visited)
		})
	}
}

// auditAtBothWidths checks the page at the window's width, then at the
// other one, and leaves the window at that other width.
func (s *session) auditAtBothWidths() {
	s.t.Helper()
	s.audit()
	if s.width == desktopWidth {
		s.resize(phoneWidth)
	} else {
		s.resize(desktopWidth)
	}
	s.audit()
}

// crawl visits start and every same-site page linked from the pages it
// visits (by path: one page per path), auditing each at both widths, and
// returns the paths.
func (s *session) crawl(start string) []string {
	s.t.Helper()
	queue, seen := []string{start}, map[string]bool{start: true}
	var visited []string
	for len(queue) > 0 && len(visited) < crawlLimit {
		next := queue[0]
		queue = queue[1:]
		s.run(chromedp.Navigate(s.base + next))
		s.auditAtBothWidths()
		visited = append(visited, next)
		links := get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('nav a[href], main a[href]')].map(a => a.getAttribute('href'))`))
		for _, href := range links {
			u, err := url.Parse(href)
			if err != nil || u.Host != "" || u.Path == "" || u.Path[0] != '/' || notAPage.MatchString(u.Path) {
				continue
			}
			if !seen[u.Path] {
				seen[u.Path] = true
				queue = append(queue, u.RequestURI())
			}
		}
	}
	return visited
}

// staffLoginWithCode signs in a demo staff member whose role needs
// two-factor, with the demo secret's code for now (the server checks it
// against its own clock).
func (s *session) staffLoginWithCode(email string) {
	s.t.Helper()
	code, err := twofactor.Code(store.DemoTOTPSecret, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	s.run(
		chromedp.Navigate(s.base+"/admin/login"),
		waitVisible(tid("admin-login-form")),
		typeInto(`input[name="email"]`, email),
		typeInto(`input[name="password"]`, store.DemoPassword),
		press(tid("admin-login-submit")),
		waitVisible(tid("code-form")),
		typeInto(tid("code"), code),
		press(tid("code-submit")),
		waitVisible(tid("account-search")),
	)
}
