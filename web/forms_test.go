package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Every signed-in page, portal and console, is kept out of the browser's
// cache, so that Back after signing out shows nothing of the account.
func TestSignedInPagesAreNeverCached(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	owner := p.login("owner@globex.test")
	staff := p.staffLogin("ops@acme.test")
	for _, page := range []struct {
		c    *http.Client
		path string
	}{{owner, "/"}, {owner, "/members"}, {owner, "/billing"}, {owner, "/settings/api-keys"}, {staff, "/admin"}, {staff, "/admin/events"}} {
		res, _ := p.get(page.c, page.path)
		if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d, Cache-Control %q", page.path, res.StatusCode, res.Header.Get("Cache-Control"))
		}
	}
	if res, _ := p.get(newClient(), "/favicon.ico"); res.StatusCode != http.StatusOK {
		t.Errorf("/favicon.ico: %d", res.StatusCode)
	}
}

// A refused plain form goes back to its page with the message beside the
// field and what was typed; the address bar never shows the form's address.
func TestARefusedFormGoesBackToItsPageWithTheInputKept(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c, token := p.session("owner@globex.test")
	long := strings.Repeat("x", 20001)
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/members/invite",
		strings.NewReader(url.Values{"_csrf": {token}, "role": {"member"}, "emails": {long}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", p.srv.URL+"/members?q=a")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/members?q=a" {
		t.Fatalf("refused form: %d → %q, want 303 back to /members?q=a", res.StatusCode, res.Header.Get("Location"))
	}
	_, doc := p.get(c, "/members?q=a")
	if got := text(doc, "flash"); got != "This is too long: at most 20,000 characters." {
		t.Errorf("flash %q", got)
	}
	state := doc.Find(`script#form-state`).Text()
	if !strings.Contains(state, `"a":"/members/invite"`) || !strings.Contains(state, `"emails":"this is too long`) || !strings.Contains(state, `"emails":"xxx`) {
		t.Errorf("form state for the page's script: %s", state)
	}
	// Shown once.
	if _, doc := p.get(c, "/members"); text(doc, "flash") != "" {
		t.Errorf("the flash shows twice: %q", text(doc, "flash"))
	}
}
