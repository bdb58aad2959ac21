package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store"
)

// apiStatus calls the entitlement API the way a vendor's application does.
func (s *session) apiStatus(key string) int {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/accounts/globex/entitlements/dashboards", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestOwnerCreatesAnAPIKeyTheAppUsesThenRevokesIt(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.login("owner@globex.test", store.DemoPassword)
	s.run(
		waitVisible(tid("entitlements")),
		press(tid("nav-settings")+" summary"),
		press(`nav a[href="/settings/api-keys"]`),
		waitVisible(tid("create-api-key-form")),
	)
	if got := s.textOf("public-key-value"); len(got) != 44 {
		t.Errorf("public key shown = %q", got)
	}
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="download-licence"]').length`)); n != 1 {
		t.Error("no Download licence file link")
	}
	s.run(
		typeInto(tid("api-key-name"), "billing service"),
		press(tid("scope-license")), // untick: this app only checks and reports usage
		press(tid("create-api-key")),
		waitVisible(tid("new-api-key")),
	)
	key := s.textOf("new-api-key")
	if !strings.HasPrefix(key, "ent_") {
		t.Fatalf("new key = %q", key)
	}
	if got := s.textOf("api-key-scopes"); got != "check, usage" {
		t.Errorf("scopes = %q", got)
	}
	s.screenshot("key-created")
	if status := s.apiStatus(key); status != http.StatusOK {
		t.Fatalf("the application's check with the new key: %d", status)
	}

	// Revoking asks for confirmation (accepted here), then the key fails at once.
	s.acceptConfirms()
	s.run(
		press(tid("revoke-api-key")),
		waitVisible(tid("api-key-revoked")),
	)
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="new-api-key"]').length`)); n != 0 {
		t.Error("the key is still shown after the list was refreshed")
	}
	s.screenshot("key-revoked")
	if status := s.apiStatus(key); status != http.StatusUnauthorized {
		t.Fatalf("the revoked key: %d, want 401", status)
	}
}
