package web_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// addMembers adds n active members named "Zed NNN" to Globex.
func addMembers(t *testing.T, p *portal, n int) {
	t.Helper()
	_, err := p.store.DB().Exec(`
		WITH u AS (INSERT INTO app_user (email, name) SELECT 'zed' || g || '@globex.test', 'Zed ' || lpad(g::text, 3, '0')
		           FROM generate_series(1, $1) g RETURNING id)
		INSERT INTO membership (account_id, user_id, role, status) SELECT a.id, u.id, 'member', 'active' FROM u, account a WHERE a.slug = 'globex'`, n)
	if err != nil {
		t.Fatal(err)
	}
}

func memberEmails(doc *goquery.Document) []string {
	var out []string
	doc.Find(`[data-testid="member-row"]`).Each(func(_ int, s *goquery.Selection) {
		e, _ := s.Attr("data-email")
		out = append(out, e)
	})
	return out
}

func TestMembersPageSearchesFiltersAndPages(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	addMembers(t, p, 120)
	c := p.login("owner@globex.test")
	_, doc := p.get(c, "/members")
	if got := text(doc, "member-total"); got != "129 members" {
		t.Fatalf("total %q", got)
	}
	// Walk every page forward by the Next links: each member once, in order.
	seen := map[string]bool{}
	pages := 0
	for {
		pages++
		for _, e := range memberEmails(doc) {
			if seen[e] {
				t.Fatalf("%s on two pages", e)
			}
			seen[e] = true
		}
		next, ok := doc.Find(`[data-testid="page-next"]`).Attr("href")
		if !ok {
			break
		}
		_, doc = p.get(c, next)
	}
	if len(seen) != 129 || pages != 3 {
		t.Fatalf("%d members over %d pages", len(seen), pages)
	}
	prev, _ := doc.Find(`[data-testid="page-prev"]`).Attr("href")
	_, doc = p.get(c, prev)
	if rows := memberEmails(doc); len(rows) != 50 || doc.Find(`[data-testid="page-prev"]`).Length() != 1 {
		t.Fatalf("previous page: %d rows", len(rows))
	}

	// Typing in the search box: htmx asks for the table alone.
	req, _ := http.NewRequest("GET", p.srv.URL+"/members?q=CAROL", nil)
	req.Header.Set("HX-Request", "true")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ = goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	if doc.Find("header.topbar").Length() != 0 || doc.Find("#member-table").Length() != 1 {
		t.Fatal("the htmx answer is not the table partial")
	}
	if got := memberEmails(doc); len(got) != 1 || got[0] != "carol@globex.test" {
		t.Fatalf("search carol: %v", got)
	}
	for query, want := range map[string]int{"role=billing": 1, "seat=with": 7, "seat=without": 122, "q=zed+11": 10, "status=invited": 0} {
		_, doc := p.get(c, "/members?"+query)
		if n := len(memberEmails(doc)); n != min(want, 50) {
			t.Errorf("%s: %d rows, want %d", query, n, want)
		}
	}
}

var inviteLink = regexp.MustCompile(`/invitations/[A-Za-z0-9_-]+`)

// After an htmx send the address box keeps only what was refused: a second
// press of Send must not mail new links that void the ones just sent.
func TestTheInviteBoxKeepsOnlyTheAddressesToCorrect(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	owner, token := p.session("owner@globex.test")
	res, doc := p.htmx(owner, http.MethodPost, "/members/invite", token, url.Values{"role": {"member"},
		"emails": {"nina@globex.test, alice@globex.test\nnot-an-email"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("invite: %d", res.StatusCode)
	}
	box := doc.Find(`textarea#invite-emails[hx-swap-oob]`)
	if box.Length() != 1 || box.Text() != "not-an-email" {
		t.Fatalf("the address box after sending: %d boxes, holding %q", box.Length(), box.Text())
	}
	if n := doc.Find(`[data-testid="invite-result"]`).Length(); n != 3 {
		t.Errorf("%d answers, want one per address", n)
	}
}

func TestInviteAcceptAndRemoveThroughThePortal(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	owner, token := p.session("owner@globex.test")
	res, doc := p.postAndFollow(owner, "/members/invite", url.Values{"_csrf": {token}, "role": {"member"},
		"emails": {"Nina <nina@globex.test>, alice@globex.test\nnot-an-email"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("invite: %d", res.StatusCode)
	}
	answers := map[string]string{}
	doc.Find(`[data-testid="flash-row"]`).Each(func(_ int, s *goquery.Selection) {
		o, _ := s.Attr("data-outcome")
		in, _ := s.Attr("data-input")
		answers[in] = o
	})
	if answers["Nina <nina@globex.test>"] != "invited" || answers["alice@globex.test"] != "already_member" || answers["not-an-email"] != "malformed" {
		t.Fatalf("answers: %v", answers)
	}
	var body string
	if err := p.store.DB().Get(&body, `SELECT body FROM outbox WHERE to_address = 'nina@globex.test'`); err != nil {
		t.Fatal(err)
	}
	link := inviteLink.FindString(body)
	if !strings.HasPrefix(body[strings.Index(body, "http"):], p.srv.URL) {
		t.Errorf("link does not point at the portal: %s", body)
	}

	nina := newClient()
	_, doc = p.get(nina, link)
	if got := text(doc, "invitation-summary"); !strings.Contains(got, "nina@globex.test") {
		t.Fatalf("invitation page: %q", got)
	}
	res, doc = p.post(nina, link, url.Values{"_csrf": {csrfToken(doc)}, "name": {"Nina New"}, "password": {"nina-password-1"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d %s", res.StatusCode, text(doc, "error-message"))
	}
	_, doc = p.get(nina, "/")
	if text(doc, "current-user") != "nina@globex.test · Member" {
		t.Fatalf("signed in as %q", text(doc, "current-user"))
	}
	if res, _ := p.get(newClient(), link); res.StatusCode != http.StatusGone {
		t.Fatalf("used link: %d, want 410", res.StatusCode)
	}

	// The owner removes Nina: her very next request lands on the login page.
	var ninaID string
	_ = p.store.DB().Get(&ninaID, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = 'nina@globex.test'`)
	if _, doc := p.postAndFollow(owner, "/members/"+ninaID+"/remove", url.Values{"_csrf": {token}}); !strings.HasPrefix(text(doc, "flash"), "nina@globex.test removed") {
		t.Fatalf("remove: %q", text(doc, "flash"))
	}
	if res, _ := p.get(nina, "/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("removed member's next request: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestAuditPageFiltersAndExports(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	owner, token := p.session("owner@globex.test")
	f := loadFixture(t, p)
	p.post(owner, "/seats/assign", url.Values{"_csrf": {token}, "subscription": {id(f.globexSub)}, "member_id": {id(f.member["frank"])}})
	p.post(owner, "/members/"+id(f.member["erin"])+"/role", url.Values{"_csrf": {token}, "role": {"admin"}})

	_, doc := p.get(owner, "/audit")
	first := doc.Find(`[data-testid="audit-row"]`).First()
	if a, _ := first.Attr("data-action"); a != "member.role" {
		t.Fatalf("newest entry is %q, want member.role", a)
	}
	_, doc = p.get(owner, "/audit?action=seat.assign&actor=owner@globex")
	var actions []string
	doc.Find(`[data-testid="audit-row"]`).Each(func(_ int, s *goquery.Selection) {
		a, _ := s.Attr("data-action")
		actions = append(actions, a+" by "+strings.TrimSpace(s.Find(`[data-testid="audit-row-actor"]`).Text()))
	})
	if len(actions) != 1 || actions[0] != "seat.assign by owner@globex.test" {
		t.Fatalf("filtered: %v", actions)
	}
	_, doc = p.get(owner, "/audit?from=2000-01-01&to=2000-01-31")
	if doc.Find(`[data-testid="audit-row"]`).Length() != 0 {
		t.Fatal("a date range in 2000 lists entries")
	}

	res, err := owner.Get(p.srv.URL + "/audit.csv?action=member.role")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	records, err := csv.NewReader(res.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(records) != 2 || records[1][5] != "member.role" || records[1][3] != "owner@globex.test" {
		t.Fatalf("export: %s %v", res.Header.Get("Content-Type"), records)
	}
	// Another account's log is not in it.
	var umbrellaEntries int
	_ = p.store.DB().Get(&umbrellaEntries, `SELECT count(*) FROM audit_entry a JOIN account ac ON ac.id = a.account_id WHERE ac.slug = 'umbrella'`)
	res2, _ := owner.Get(p.srv.URL + "/audit.csv")
	all, _ := csv.NewReader(res2.Body).ReadAll()
	res2.Body.Close()
	for _, r := range all[1:] {
		if strings.Contains(r[3], "umbrella") || strings.Contains(r[8]+r[9], "umbrella") {
			t.Fatalf("Globex's export holds Umbrella's entry: %v", r)
		}
	}
	if umbrellaEntries == 0 {
		t.Fatal("fixture: Umbrella has no entries")
	}
}
