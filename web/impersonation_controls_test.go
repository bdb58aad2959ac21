package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

// A read-only support session sees the controls it may not use disabled,
// with a note saying why; a write session and the customer see them
// enabled. The server's refusal stays whatever the page shows.
func TestReadOnlySupportSessionSeesRefusedControlsDisabled(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	owner, token := p.session("owner@globex.test")
	p.postAndFollow(owner, "/members/invite", url.Values{"_csrf": {token}, "role": {"member"}, "emails": {"nina@globex.test"}})

	staff := p.staffLogin("support@acme.test")
	if res := p.impersonate(staff, "globex", "read", "TICKET-7 members page", "30"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start impersonation: %d", res.StatusCode)
	}
	res, doc := p.get(staff, "/members")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("members as support: %d", res.StatusCode)
	}
	for _, id := range []string{"invite-submit", "role-save", "remove-member", "bulk-assign", "pending-resend", "pending-revoke"} {
		sel := doc.Find(`[data-testid="` + id + `"]`)
		if sel.Length() == 0 {
			t.Errorf("%s is not shown to the read-only session", id)
			continue
		}
		if _, disabled := sel.First().Attr("disabled"); !disabled {
			t.Errorf("%s is enabled in a read-only session", id)
		}
	}
	if doc.Find(`[data-testid="read-only-note"]`).Length() == 0 || doc.Find(`[data-testid="read-only-explained"]`).Length() != 1 {
		t.Error("no note says why the controls are disabled")
	}
	if _, ok := doc.Find("body").Attr("data-read-only"); !ok {
		t.Error("the page is not marked read-only for the script")
	}
	// Searching still works: it only looks.
	if _, disabled := doc.Find(`[data-testid="member-search"]`).Attr("disabled"); disabled {
		t.Error("search is disabled in a read-only session")
	}
	// The server still refuses.
	if res, _ := p.htmxPost(staff, "/members/invitations/resend", url.Values{"_csrf": {csrfToken(doc)}, "invitation": {"1"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("read-only resend: %d, want 403", res.StatusCode)
	}

	// The customer's own page has them enabled and no note.
	_, doc = p.get(owner, "/members")
	if _, disabled := doc.Find(`[data-testid="invite-submit"]`).Attr("disabled"); disabled || doc.Find(`[data-testid="read-only-note"]`).Length() != 0 {
		t.Error("the owner's own controls are disabled")
	}
}
