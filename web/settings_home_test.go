package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// /settings, typed in the address bar, opens the first settings page the
// person may see (it answered "Not found"): an owner's API keys; a plain
// member, who has none, their own profile.
func TestSettingsLeadsToTheFirstSettingsPageOfTheRole(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	for who, want := range map[string]string{
		"owner@globex.test": "/settings/api-keys",
		"alice@globex.test": "/profile", // a plain member has no settings page
	} {
		c := p.login(who)
		res, _ := p.get(c, "/settings")
		if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != want {
			t.Fatalf("%s opens /settings: %d to %q, want %s", who, res.StatusCode, got, want)
		}
		if res, _ := p.get(c, want); res.StatusCode != http.StatusOK {
			t.Errorf("%s opens %s: %d", who, want, res.StatusCode)
		}
	}
	if res, _ := p.get(newClient(), "/settings"); !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("signed out, /settings: %d to %q, want the sign-in page", res.StatusCode, res.Header.Get("Location"))
	}
}
