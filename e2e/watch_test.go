package e2e

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The two widths every page must work at: a laptop and a phone.
const (
	desktopWidth = 1280
	phoneWidth   = 390
)

// atBothWidths runs a journey as two parallel subtests, at a laptop's
// width and at a phone's.
func atBothWidths(t *testing.T, journey func(t *testing.T, width int64)) {
	for _, width := range []int64{desktopWidth, phoneWidth} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			t.Parallel()
			journey(t, width)
		})
	}
}

//go:embed testdata/watch.js
var watchScript string

// axeSource is axe-core, copied from npm by `make static` into e2e/vendor
// (tests only: the portal never serves it).
var axeSource string

func loadAxe() error {
	b, err := os.ReadFile("vendor/axe.min.js")
	if err != nil {
		return fmt.Errorf("axe-core is missing (%v): run `make static`", err)
	}
	axeSource = string(b)
	return nil
}

// watcher collects what must fail a test in one tab: console errors and
// uncaught exceptions, htmx error events, failed responses, axe-core's
// serious and critical violations and sideways scroll, each with the
// window's width when it was seen.
type watcher struct {
	mu       sync.Mutex
	width    int64
	problems []string
	seen     map[string]bool
	allowed  []string
	// confirming: the journey answers OK to the page's confirm dialogs;
	// asked: what those dialogs said.
	confirming bool
	asked      []string
}

// report is what the page script sends to entitleE2EReport.
type report struct {
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	URL   string `json:"url"`
	Width int64  `json:"width"` // the window's, when the page saw it
}

// A 4xx answer other than 404 is a refusal the page shows (a form error, a
// forbidden page); Chromium still logs it as a failed load.
var handledStatus = regexp.MustCompile(`status of 4(0[0-35-9]|[1-9]\d)\b`)

// add records a problem seen at width px (0: the width the test last gave
// the window, for console lines, which do not say).
func (w *watcher) add(width int64, line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if width == 0 {
		width = w.width
	}
	for _, a := range w.allowed {
		if strings.Contains(line, a) {
			return
		}
	}
	line = fmt.Sprintf("(%d px): %s", width, line)
	if w.seen[line] {
		return
	}
	w.seen[line] = true
	w.problems = append(w.problems, line)
}

func (w *watcher) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.problems
	w.problems = nil
	return p
}

// watch sets the tab's width, loads the page script and axe-core into every
// document, and fails the test at its end for anything the watcher saw.
func watch(t *testing.T, ctx context.Context, width int64) *watcher {
	t.Helper()
	w := &watcher{width: width, seen: map[string]bool{}}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch {
			case m.IsException():
				w.add(0, fmt.Sprintf("exception at %s:%d: %s", m.URL, m.Line+1, m.Text))
			case m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning:
				if m.Source == "network" && handledStatus.MatchString(m.Text) {
					continue
				}
				if m.Source != "" && m.Type == chromedp.ConsoleWarning {
					continue // the browser's own advice (deprecations, interventions)
				}
				w.add(0, fmt.Sprintf("console %s: %s %s", m.Type, m.Text, m.URL))
			}
		}
	}()
	// A dialog stops the page's scripts, and so every wait of the journey,
	// until it is answered: each is answered at once, OK to a confirm the
	// journey expects (acceptConfirms), Cancel to anything else, which
	// fails the test.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for d, err := range dialogs {
			if err != nil {
				return
			}
			w.mu.Lock()
			accept := w.confirming && d.Type == page.DialogTypeConfirm
			if accept {
				w.asked = append(w.asked, d.Message)
			}
			w.mu.Unlock()
			if !accept {
				w.add(0, fmt.Sprintf("unexpected %s dialog on %s: %s", d.Type, d.URL, d.Message))
			}
			go func() { // not on the goroutine that delivers the tab's events
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
			}()
		}
	}()
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(width, 900),
		chromedp.ExposeFunc("entitleE2EReport", func(_ context.Context, r report) (chromedp.Void, error) {
			w.add(r.Width, r.Kind+" on "+r.URL+": "+r.Text)
			return chromedp.Void{}, nil
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for _, src := range []string{axeSource, watchScript} {
				if _, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
					return err
				}
			}
			return nil
		}),
	)
	if err != nil {
		t.Fatalf("browser: watch the tab: %v", err)
	}
	t.Cleanup(func() {
		// The last page's audit, then everything seen.
		_, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.__e2eAudit ? window.__e2eAudit() : Promise.resolve()).then(() => true)`, chromedp.EvalAwaitPromise))
		for _, p := range w.take() {
			t.Errorf("browser %s", p)
		}
	})
	return w
}

// allow lets a test expect a console line containing text (a test that
// opens a missing page on purpose).
func (s *session) allow(text string) {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	s.watch.allowed = append(s.watch.allowed, text)
}

// acceptConfirms answers OK to every confirm dialog the tab's pages open
// from now on (Remove asks first), as the person would.
func (s *session) acceptConfirms() {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	s.watch.confirming = true
}

// confirmed is what the confirm dialogs answered so far asked, in order.
func (s *session) confirmed() []string {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	return append([]string(nil), s.watch.asked...)
}

// resize makes the tab's window width px wide, as narrowing or widening a
// window would, and waits until the page has seen it: its checks are then
// due at the new width (audit runs them).
func (s *session) resize(width int64) {
	s.t.Helper()
	s.run(chromedp.EmulateViewport(width, 900), doJS(fmt.Sprintf(`() => window.__e2eWidth === %d || null`, width)))
	s.watch.mu.Lock()
	s.watch.width = width
	s.watch.mu.Unlock()
	s.width = width
}

// audit waits for the page's pending checks and runs one more now, so that a
// crawl checks every page it opens.
func (s *session) audit() {
	s.t.Helper()
	s.run(waitReady("body"))
	get(s, chromedp.Evaluate[bool](`(window.__e2eAudit ? window.__e2eAudit() : Promise.resolve()).then(() => true)`, chromedp.EvalAwaitPromise))
}
