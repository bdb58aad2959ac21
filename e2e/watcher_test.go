package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/static"
)

// The watcher audits the whole page when it loads and, after an htmx swap,
// what the swap brought in: a violation either way is reported.
func TestTheWatcherReportsViolationsOfALoadedPageAndOfASwap(t *testing.T) {
	t.Parallel()
	page := func(body string) http.HandlerFunc { return smallPage("Watcher", "/static/vendor/htmx.min.js", body) }
	s := openCleanPage(t, "/clean", map[string]http.HandlerFunc{
		"/clean": page(`<button id="swap" hx-get="/fragment" hx-target="#slot" hx-swap="outerHTML">Swap</button><div id="slot">empty</div>`),
		"/fragment": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`<div id="slot"><img src="/static/favicon.svg"></div>`))
		},
		"/broken": page(`<img src="/static/favicon.svg">`),
	})
	s.run(press("#swap"), waitVisible("#slot img"))
	s.audit()
	if got := reported(s, "image-alt"); !strings.Contains(got, "image-alt") {
		t.Errorf("an image without a text alternative brought by a swap was not reported: %q", got)
	}
	s.run(chromedp.Navigate(s.base + "/broken"))
	s.audit()
	if got := reported(s, "image-alt"); !strings.Contains(got, "image-alt") {
		t.Errorf("an image without a text alternative on a loaded page was not reported: %q", got)
	}
}

// openCleanPage serves pages (and the site's static files under /static/)
// and opens first at the laptop's width, failing the test if the watcher
// reports anything on it.
func openCleanPage(t *testing.T, first string, pages map[string]http.HandlerFunc) *session {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(static.FS)))
	for path, page := range pages {
		mux.HandleFunc(path, page)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s := open(t, srv.URL, nil, desktopWidth)
	s.run(chromedp.Navigate(srv.URL + first))
	s.audit()
	if got := s.watch.take(); len(got) != 0 {
		t.Fatalf("%s at %d px was reported: %v", first, desktopWidth, got)
	}
	return s
}

// smallPage serves a page of its own with the given scripts (the site's
// static files are served beside it under /static/).
func smallPage(title, scripts, body string) http.HandlerFunc {
	var tags strings.Builder
	for _, src := range strings.Fields(scripts) {
		tags.WriteString(`<script src="` + src + `"></script>`)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><title>` + title + `</title>
<link rel="icon" href="/static/favicon.svg">` + tags.String() + `</head><body><main><h1>` + title + `</h1>` + body + `</main></body></html>`))
	}
}

// reported takes what the watcher saw, waiting a little for a line
// containing want: the page's reports reach the test asynchronously.
func reported(s *session, want string) string {
	var seen []string
	for range 100 {
		seen = append(seen, s.watch.take()...)
		if got := strings.Join(seen, "\n"); strings.Contains(got, want) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	return strings.Join(seen, "\n")
}

// A page the crawl opens at the laptop's width is checked again once the
// window narrows to a phone's: what only a phone shows is reported, at
// the phone's width.
func TestTheWatcherChecksAPageAgainWhenTheWindowNarrows(t *testing.T) {
	t.Parallel()
	s := openCleanPage(t, "/phone-only", map[string]http.HandlerFunc{
		"/phone-only": smallPage("Watcher", "", `<style>.phone { display: none; color: #eee; background: #fff }
@media (max-width: 600px) { .phone { display: block } }</style><p class="phone">Shown on phones only, too faint to read</p>`),
	})
	s.auditAtBothWidths()
	want := fmt.Sprintf("(%d px): axe on /phone-only: serious color-contrast", phoneWidth)
	if got := reported(s, want); !strings.Contains(got, want) {
		t.Errorf("faint text shown only at %d px was not reported at that width: %q", phoneWidth, got)
	}
}

// A dialog is answered at once, so a journey never hangs on one: a confirm
// the journey expects gets OK, on any page the tab opens later too; any
// other dialog gets Cancel and is reported.
func TestTheWatcherAnswersDialogsAndReportsUnexpectedOnes(t *testing.T) {
	t.Parallel()
	s := openCleanPage(t, "/ask", map[string]http.HandlerFunc{
		"/ask": smallPage("Watcher", "", `<button id="ask" onclick="document.body.dataset.answer = confirm('Remove it?') ? 'ok' : 'cancel'">Remove</button>
<button id="tell" onclick="alert('Saved'); document.body.dataset.told = 'yes'">Save</button>`),
	})
	s.run(press("#ask"), waitReady("body[data-answer]"))
	if got := get(s, chromedp.Evaluate[string](`document.body.dataset.answer`)); got != "cancel" {
		t.Errorf("a confirm the journey did not expect was answered %q", got)
	}
	if got := reported(s, "unexpected confirm dialog"); !strings.Contains(got, "Remove it?") {
		t.Errorf("an unexpected confirm was not reported: %q", got)
	}
	s.acceptConfirms()
	s.run(chromedp.Navigate(s.base+"/ask"), press("#ask"), waitReady("body[data-answer]"))
	if got := get(s, chromedp.Evaluate[string](`document.body.dataset.answer`)); got != "ok" {
		t.Errorf("an expected confirm on a page loaded after acceptConfirms was answered %q", got)
	}
	if got := s.confirmed(); len(got) != 1 || got[0] != "Remove it?" {
		t.Errorf("confirmed = %q", got)
	}
	s.run(press("#tell"), waitReady("body[data-told]"))
	if got := reported(s, "unexpected alert dialog"); !strings.Contains(got, "Saved") {
		t.Errorf("an alert was not reported: %q", got)
	}
}
