package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// readmeShot saves the page as name.png into README_SCREENSHOTS when set:
// `make screenshots` regenerates README's pictures from this journey, and
// ordinary runs never rewrite them.
func (s *session) readmeShot(name string) {
	s.t.Helper()
	dir := os.Getenv("README_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100)) // 100: PNG (less is JPEG)
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// The three pages README shows, as Globex's owner sees them: the overview,
// the seats with their meter, and billing.
func TestOwnerToursOverviewSeatsAndBilling(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")
	if got := s.textOf("seat-meter-text"); got != "7 of 10 seats used" {
		t.Errorf("overview meter: %q", got)
	}
	s.readmeShot("overview")

	s.run(chromedp.Navigate(s.base+"/seats"), waitVisible(tid("seat-pool")))
	if got := s.textOf("seat-meter-text"); got != "7 of 10 seats used" {
		t.Errorf("seats meter: %q", got)
	}
	if href := get(s, chromedp.Evaluate[string](`document.querySelector('[data-testid="buy-seats"]').getAttribute("href")`)); href != "/billing#seats" {
		t.Errorf("Buy seats goes to %q", href)
	}
	s.readmeShot("seats")

	s.run(chromedp.Navigate(s.base+"/billing"), waitVisible(tid("billing-status")))
	s.readmeShot("billing")
}
