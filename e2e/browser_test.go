// Package e2e drives the real portal in a real Chromium (chromedp): each
// test starts the server on a fresh database with the demo data and walks a
// journey as a person would, saving screenshots under e2e/screenshots/.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// browserCtx is the one Chromium process the tests share; each test opens
// its own tab (and its own incognito-like context) in it.
var browserCtx context.Context

func TestMain(m *testing.M) {
	path, err := chromiumPath()
	if err == nil {
		err = loadAxe()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1) // fail, never skip: the suite promises a real browser
	}
	userData, err := os.MkdirTemp("", "entitle-e2e-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(userData),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		// chromedp's own list (Translate, BlinkGenPropertyTrees), and the
		// omnibox popups Chromium 156 loads as WebUI pages into every
		// window, headless too: two more renderers per journey's tab (the
		// suite took 438 s with them and 377 s without, all cores busy;
		// Puppeteer disables them too).
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebUIOmniboxPopup,WebUIOmniboxAimPopup"),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil { // start the browser now, so a broken install fails fast
		fmt.Fprintln(os.Stderr, "e2e: start Chromium at", path+":", err)
		os.Exit(1)
	}
	browserCtx = ctx
	code := m.Run()
	cancelBrowser()
	cancelAlloc()
	os.RemoveAll(userData)
	os.Exit(code)
}

func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found: run `make test` (it installs Debian's chromium) or set CHROMIUM_PATH")
}

// session is one journey: a fresh demo database, the real server on a
// loopback port, and a browser tab.
type session struct {
	t     *testing.T
	ctx   context.Context
	base  string
	store *store.Store
	watch *watcher
	width int64
}

func newSession(t *testing.T) *session {
	t.Helper()
	return newSessionAt(t, desktopWidth)
}

// newSessionAt is newSession in a window width px wide.
func newSessionAt(t *testing.T, width int64) *session {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("e2e-secret-e2e-secret-e2e-secret!!")}))
	t.Cleanup(srv.Close)
	return open(t, srv.URL, s, width)
}

// open is one person's browser on the portal at base: a new tab, watched.
func open(t *testing.T, base string, s *store.Store, width int64) *session {
	t.Helper()
	ctx := newTab(t)
	return &session{t: t, ctx: ctx, base: base, store: s, watch: watch(t, ctx, width), width: width}
}

// newTab opens a tab in a new browser context, so that cookies are not
// shared between tests (or between two people in one test).
func newTab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second) // generous: 15 tabs share 2 cores
	t.Cleanup(func() { cancelTimeout(); cancel() })
	// The journeys never query chromedp's mirror of the page's nodes (see
	// page_test.go), so the tab stops sending node events: chromedp handles
	// them on the goroutine that also delivers its replies, and a busy page's
	// flood of them could stall the tab for good.
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, dom.Disable, cdp.Empty{})
		return err
	}))
	if err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// run performs browser actions, failing the test with a screenshot.
func (s *session) run(actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	for i, a := range actions {
		// Each action gets part of the tab's time, so that one that never
		// ends still leaves time to say where the page was.
		ctx, cancel := context.WithTimeout(s.ctx, 60*time.Second)
		err := chromedp.Do(ctx, a)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil {
				where, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`location.href + " (" + document.readyState + ")"`))
				s.t.Logf("action %d of %d failed on %s", i+1, len(actions), where)
			}
			s.screenshot("failure")
			s.t.Fatalf("browser: %v", err)
		}
	}
}

// screenshot saves the page as e2e/screenshots/<test>-<name>.png.
//
// A capture asked for while the page is being replaced can wait for a frame
// that never comes, so it waits for a painted frame first and gets a short
// time of its own, twice: a picture never costs the journey its deadline.
func (s *session) screenshot(name string) {
	var png []byte
	err := context.DeadlineExceeded
	for try := 0; try < 2 && err != nil && s.ctx.Err() == nil; try++ {
		ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
		_, err = chromedp.Run(ctx, untilJS[bool](`() => document.readyState === "complete" || null`))
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(painted => requestAnimationFrame(() => painted(true)))`, chromedp.EvalAwaitPromise))
		}
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		cancel()
	}
	if err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := "screenshots"
	_ = os.MkdirAll(dir, 0o755)
	if s.width != desktopWidth {
		name += fmt.Sprintf("-%dpx", s.width)
	}
	file := filepath.Join(dir, strings.ReplaceAll(s.t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		s.t.Logf("screenshot %s: %v", name, err)
	}
}

// tid is a CSS selector for a data-testid.
func tid(id string) string { return `[data-testid="` + id + `"]` }

// login signs in through the form.
func (s *session) login(email, password string) {
	s.t.Helper()
	s.run(
		chromedp.Navigate(s.base+"/login"),
		waitVisible(tid("login-form")),
		typeInto(`input[name="email"]`, email),
		typeInto(`input[name="password"]`, password),
		press(tid("login-submit")),
	)
}

// submit presses a button that leaves the page, from inside the page and
// after the call has returned: a click whose reply races with the
// navigation it starts fails with "target navigated or closed".
func (s *session) submit(button string) {
	s.t.Helper()
	get(s, chromedp.Evaluate[bool](`(() => { const b = document.querySelector(`+strconv.Quote(button)+
		`); if (!b) return false; document.body.dataset.left = "1"; setTimeout(() => b.click(), 0); return true })()`))
	// The caller waits for what the next page shows.
}

// textOf waits for the first element with a data-testid and reads its
// trimmed text in one step in the page, so that a fragment swapped in by
// htmx or a live stream between finding and reading cannot fail the read.
func (s *session) textOf(id string) string {
	s.t.Helper()
	return get(s, untilJS[string](`() => { const e = document.querySelector(`+strconv.Quote(tid(id))+
		`); return e ? e.textContent.trim() : null }`))
}

// inView says whether the top of the element is inside the window: seen
// without scrolling (an element scrolled to the window's top may sit a
// fraction of a pixel above it).
func (s *session) inView(id string) bool {
	s.t.Helper()
	return get(s, untilJS[bool](`() => { const e = document.querySelector(`+strconv.Quote(tid(id))+
		`); if (!e) return null; const r = e.getBoundingClientRect(); return r.top > -1 && r.top < window.innerHeight }`))
}

// click waits for an element to be shown and clicks it in the page.
func (s *session) click(selector string) {
	s.t.Helper()
	s.run(press(selector))
}

// transient tells an error of a page that was being replaced (a form's
// navigation, a redirect) while the browser ran a script: the script never
// ran, and running it again on the new page is right.
func transient(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context with specified id") ||
		strings.Contains(msg, "Cannot find default execution context") ||
		strings.Contains(msg, "Inspected target navigated or closed") ||
		strings.Contains(msg, "Execution context was destroyed")
}

// get runs one action that returns a value, failing the test on error; a
// script cut short by a navigation runs again on the new page.
func get[T any](s *session, a chromedp.Action[T]) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, a)
	for tries := 0; err != nil && transient(err) && tries < 50 && s.ctx.Err() == nil; tries++ {
		time.Sleep(100 * time.Millisecond) // the new page is loading: not a timed assertion
		v, err = chromedp.Run(s.ctx, a)
	}
	if err != nil {
		s.screenshot("failure")
		s.t.Fatalf("browser: %v", err)
	}
	return v
}
