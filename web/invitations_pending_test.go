package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// htmxPost posts a form as htmx does and parses the fragment.
func (p *portal) htmxPost(c *http.Client, path string, form url.Values) (*http.Response, *goquery.Document) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	res, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	return res, doc
}

// inviteLinkFor is the newest invitation link mailed to email.
func (p *portal) inviteLinkFor(email string) string {
	p.t.Helper()
	var body string
	if err := p.store.DB().Get(&body, `SELECT body FROM outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1`, email); err != nil {
		p.t.Fatal(err)
	}
	return inviteLink.FindString(body)
}

func pendingRow(doc *goquery.Document, email string) *goquery.Selection {
	return doc.Find(`[data-testid="pending-row"][data-email="` + email + `"]`)
}

func TestPendingInvitationsAreResentAndRevokedBesideTheirRows(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	owner, token := p.session("owner@globex.test")
	p.postAndFollow(owner, "/members/invite", url.Values{"_csrf": {token}, "role": {"member"},
		"emails": {"nina@globex.test, omar@globex.test"}})
	_, doc := p.get(owner, "/members")
	nina, _ := pendingRow(doc, "nina@globex.test").Attr("data-id")
	omar, _ := pendingRow(doc, "omar@globex.test").Attr("data-id")
	if nina == "" || omar == "" || doc.Find(`[data-testid="pending-select-all"]`).Length() != 1 {
		t.Fatalf("pending invitations card: nina %q omar %q", nina, omar)
	}
	if pendingRow(doc, "nina@globex.test").Find(`[data-testid="remove-member"]`).Length() != 0 {
		t.Error("a pending invitation offers Remove")
	}
	// Until an action answers, there is no Result column to leave empty.
	if doc.Find(`[data-testid="pending-table"] th:contains("Result")`).Length() != 0 || doc.Find(`[data-testid="pending-result"]`).Length() != 0 {
		t.Error("the pending invitations show an empty Result column before any action")
	}
	oldLink := p.inviteLinkFor("nina@globex.test")

	// Resend: a new mail with a new link; the old link is refused.
	res, frag := p.htmxPost(owner, "/members/invitations/resend", url.Values{"_csrf": {token}, "invitation": {nina}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("resend: %d", res.StatusCode)
	}
	if got := strings.TrimSpace(pendingRow(frag, "nina@globex.test").Find(`[data-testid="pending-result"]`).Text()); !strings.Contains(got, "nina@globex.test") || !strings.HasPrefix(got, "Invitation sent again") {
		t.Errorf("resend message beside Nina's row: %q", got)
	}
	if got := strings.TrimSpace(pendingRow(frag, "omar@globex.test").Find(`[data-testid="pending-result"]`).Text()); got != "" {
		t.Errorf("Omar's row says %q after Nina's resend", got)
	}
	newLink := p.inviteLinkFor("nina@globex.test")
	if newLink == oldLink {
		t.Fatal("the resent mail carries the old link")
	}
	if res, _ := p.get(newClient(), oldLink); res.StatusCode != http.StatusGone {
		t.Errorf("old link after resend: %d, want 410", res.StatusCode)
	}
	if res, _ := p.get(newClient(), newLink); res.StatusCode != http.StatusOK {
		t.Errorf("new link: %d, want 200", res.StatusCode)
	}

	// Revoke both, in one go: the links die, the rows say so.
	res, frag = p.htmxPost(owner, "/members/invitations/revoke", url.Values{"_csrf": {token}, "invitation": {nina, omar}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	for _, who := range []string{"nina@globex.test", "omar@globex.test"} {
		row := pendingRow(frag, who)
		if o, _ := row.Attr("data-outcome"); o != "revoked" || !strings.Contains(row.Find(`[data-testid="pending-result"]`).Text(), "Invitation to "+who+" revoked") {
			t.Errorf("%s after revoke: outcome %q, %q", who, o, row.Find(`[data-testid="pending-result"]`).Text())
		}
	}
	if res, _ := p.get(newClient(), newLink); res.StatusCode != http.StatusGone {
		t.Errorf("revoked link: %d, want 410", res.StatusCode)
	}
	_, doc = p.get(owner, "/members")
	if pendingRow(doc, "nina@globex.test").Length() != 0 {
		t.Error("a revoked invitation is still pending")
	}

	// Each is in the audit log.
	for action, want := range map[string]int{"member.invite_revoke": 2} {
		if n := p.consoleCount(`SELECT count(*) FROM audit_entry WHERE action = $1`, action); n != want {
			t.Errorf("%s audited %d times, want %d", action, n, want)
		}
	}
	if n := p.consoleCount(`SELECT count(*) FROM audit_entry WHERE action = 'member.invite' AND after->>'resent' = 'true' AND after->>'email' = 'nina@globex.test'`); n != 1 {
		t.Errorf("resend audited %d times", n)
	}
}

func TestAnotherAccountsInvitationIsNotFound(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	globex, gtoken := p.session("owner@globex.test")
	p.postAndFollow(globex, "/members/invite", url.Values{"_csrf": {gtoken}, "role": {"member"}, "emails": {"nina@globex.test"}})
	_, doc := p.get(globex, "/members")
	nina, _ := pendingRow(doc, "nina@globex.test").Attr("data-id")

	initech, itoken := p.session("owner@initech.test")
	for _, path := range []string{"/members/invitations/resend", "/members/invitations/revoke"} {
		if res, _ := p.htmxPost(initech, path, url.Values{"_csrf": {itoken}, "invitation": {nina}}); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s of Globex's invitation from Initech: %d, want 404", path, res.StatusCode)
		}
	}
	if n := p.consoleCount(`SELECT count(*) FROM outbox WHERE to_address = 'nina@globex.test'`); n != 1 {
		t.Errorf("%d mails to Nina, want the one invitation", n)
	}
	// Plain posts without a selection are told so on the page.
	if res, _ := p.post(globex, "/members/invitations/resend", url.Values{"_csrf": {gtoken}}); res.StatusCode == http.StatusOK {
		t.Error("resending nothing answered 200")
	}
}

// Without the script, a resend goes back to the members page, which says
// once what happened to each person.
func TestResendWithoutScriptComesBackToTheMembersPage(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	owner, token := p.session("owner@globex.test")
	p.postAndFollow(owner, "/members/invite", url.Values{"_csrf": {token}, "role": {"member"}, "emails": {"nina@globex.test"}})
	_, doc := p.get(owner, "/members")
	nina, _ := pendingRow(doc, "nina@globex.test").Attr("data-id")
	res, doc := p.postAndFollow(owner, "/members/invitations/resend", url.Values{"_csrf": {token}, "invitation": {nina}})
	if res.Request.URL.Path != "/members" || !strings.HasPrefix(text(doc, "flash"), "1 invitation sent again.") {
		t.Fatalf("after a plain resend: %s, flash %q", res.Request.URL.Path, text(doc, "flash"))
	}
	row := doc.Find(`[data-testid="flash-row"][data-input="nina@globex.test"]`)
	if !strings.Contains(row.Text(), "Invitation sent again to nina@globex.test") {
		t.Errorf("flash row for Nina: %q", row.Text())
	}
}

// An account with many open invitations sees the latest ten and a "Show
// all" that lists every one, with the script (the card swaps itself) and
// without (a plain link to the page with the long card); an action taken
// from the long list answers with the long list.
func TestPendingInvitationsShowTheLatestTenAndAllOnRequest(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	owner, token := p.session("owner@globex.test")
	var emails []string
	for i := 1; i <= 12; i++ {
		emails = append(emails, fmt.Sprintf("guest%02d@globex.test", i))
	}
	p.postAndFollow(owner, "/members/invite", url.Values{"_csrf": {token}, "role": {"member"}, "emails": {strings.Join(emails, "\n")}})

	_, doc := p.get(owner, "/members")
	card := doc.Find(`[data-testid="pending-invitations"]`)
	if n := card.Find(`[data-testid="pending-row"]`).Length(); n != 10 {
		t.Fatalf("the members page shows %d pending invitations, want the latest 10", n)
	}
	if pendingRow(doc, "guest12@globex.test").Length() != 1 || pendingRow(doc, "guest01@globex.test").Length() != 0 {
		t.Error("the card does not show the latest invitations")
	}
	// The members table's "Resend or revoke" leads to a list that shows
	// the person: this card for the latest, the full list for older ones.
	resendLink := func(email string) string {
		href, _ := doc.Find(`[data-testid="member-row"][data-email="` + email + `"] [data-testid="member-pending"]`).Attr("href")
		return href
	}
	if got := resendLink("guest12@globex.test"); got != "#pending-invitations" {
		t.Errorf("guest12's Resend or revoke leads to %q", got)
	}
	if got := resendLink("guest01@globex.test"); got != "/members?invitations=all#pending-invitations" {
		t.Errorf("guest01's Resend or revoke leads to %q, a card without guest01", got)
	}
	link := card.Find(`[data-testid="pending-show-all"]`)
	href, _ := link.Attr("href")
	hxGet, _ := link.Attr("hx-get")
	if strings.TrimSpace(link.Text()) != "Show all 12" || href == "" || hxGet == "" {
		t.Fatalf("show all link: %q href %q hx-get %q", link.Text(), href, hxGet)
	}

	// Without the script: the page with every invitation, and no link.
	_, doc = p.get(owner, href)
	if n := doc.Find(`[data-testid="pending-row"]`).Length(); n != 12 {
		t.Errorf("the plain link shows %d invitations, want 12", n)
	}
	if doc.Find(`[data-testid="pending-show-all"]`).Length() != 0 {
		t.Error("the full list still offers Show all")
	}

	// With the script: the card alone, every invitation in it.
	res, frag := p.htmx(owner, http.MethodGet, hxGet, token, nil)
	if res.StatusCode != http.StatusOK || frag.Find(`[data-testid="pending-row"]`).Length() != 12 {
		t.Fatalf("htmx show all: %d, %d rows", res.StatusCode, frag.Find(`[data-testid="pending-row"]`).Length())
	}

	// Revoking the oldest from the long list keeps the long list.
	form := url.Values{"_csrf": {token}}
	pendingRow(frag, "guest01@globex.test").Find(`form[action="/members/invitations/revoke"] input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		form.Set(name, value)
	})
	res, frag = p.htmxPost(owner, "/members/invitations/revoke", form)
	if res.StatusCode != http.StatusOK || frag.Find(`[data-testid="pending-row"]`).Length() != 12 {
		t.Fatalf("revoke from the full list: %d, %d rows", res.StatusCode, frag.Find(`[data-testid="pending-row"]`).Length())
	}
	if o, _ := pendingRow(frag, "guest01@globex.test").Attr("data-outcome"); o != "revoked" {
		t.Errorf("guest01 after revoke: outcome %q", o)
	}
}
