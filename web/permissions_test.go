package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// fixture holds the ids the requests name: Globex's own, and Umbrella's
// (another account) that a Globex member must never reach.
type fixture struct {
	globexSub, umbrellaSub int64
	member                 map[string]int64 // Globex members by address
	foreignMember          int64            // alice@umbrella.test
}

func loadFixture(t *testing.T, p *portal) fixture {
	t.Helper()
	f := fixture{member: map[string]int64{}}
	q := func(dst *int64, query string, args ...any) {
		if err := p.store.DB().QueryRow(query, args...).Scan(dst); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	q(&f.globexSub, `SELECT s.id FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = 'globex'`)
	q(&f.umbrellaSub, `SELECT s.id FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = 'umbrella'`)
	q(&f.foreignMember, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = 'alice@umbrella.test'`)
	for _, e := range []string{"carol", "dave", "erin", "frank"} {
		var id int64
		q(&id, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = $1`, e+"@globex.test")
		f.member[e] = id
	}
	return f
}

// request is one route called with its form, as a browser would.
type request struct {
	method, path string
	form         url.Values
	file         string // a CSV upload (multipart) when set
}

// routeCase is one action of the permission matrix: what a member of the
// account may ask (own), and the same with another account's ids (foreign).
type routeCase struct {
	name    string
	action  licensing.Action
	own     func(f fixture) request
	foreign []func(f fixture) request
	changes bool // whether the allowed own request changes state
}

func id(n int64) string { return fmt.Sprint(n) }

var routeCases = []routeCase{
	{name: "overview", action: licensing.ViewOwnLicences, own: func(fixture) request { return request{method: "GET", path: "/"} }},
	{name: "members page", action: licensing.ViewMembers, own: func(fixture) request { return request{method: "GET", path: "/members?q=a"} }},
	{name: "seats page", action: licensing.ViewSeats, own: func(fixture) request { return request{method: "GET", path: "/seats"} }},
	{name: "audit page", action: licensing.ViewAudit, own: func(fixture) request { return request{method: "GET", path: "/audit"} }},
	{name: "audit export", action: licensing.ViewAudit, own: func(fixture) request { return request{method: "GET", path: "/audit.csv"} }},
	{name: "billing page", action: licensing.ViewBilling, own: func(fixture) request { return request{method: "GET", path: "/billing"} }},
	{name: "upgrade preview", action: licensing.ManageBilling, own: func(fixture) request {
		return request{method: "GET", path: "/billing/change?plan=business"}
	}},
	// The first view of the API keys page makes the vendor's first licence
	// signing key (audited), so it counts as a change.
	{name: "API keys page", action: licensing.ManageAPIKeys, changes: true, own: func(fixture) request { return request{method: "GET", path: "/settings/api-keys"} }},
	{name: "support sessions", action: licensing.ViewSupport, own: func(fixture) request { return request{method: "GET", path: "/settings/support"} }},
	{name: "alert settings", action: licensing.ReceiveAlerts, own: func(fixture) request { return request{method: "GET", path: "/settings/alerts"} }},
	{name: "switch alerts off", action: licensing.ReceiveAlerts, changes: true, own: func(fixture) request {
		return request{method: "POST", path: "/settings/alerts", form: url.Values{}}
	}},
	{name: "support consent", action: licensing.ConsentSupport, changes: true, own: func(fixture) request {
		return request{method: "POST", path: "/settings/support", form: url.Values{"allow": {"true"}}}
	}},
	{name: "invite", action: licensing.InviteMembers, changes: true, own: func(fixture) request {
		return request{method: "POST", path: "/members/invite", form: url.Values{"emails": {"invitee@globex.test"}, "role": {"member"}}}
	}},
	{name: "domain rules", action: licensing.SetInviteDomains, changes: true, own: func(fixture) request {
		return request{method: "POST", path: "/members/domains", form: url.Values{"domains": {"globex.test"}}}
	}},
	{name: "change role", action: licensing.ChangeRoles, changes: true,
		own: func(f fixture) request {
			return request{method: "POST", path: "/members/" + id(f.member["erin"]) + "/role", form: url.Values{"role": {"billing"}}}
		},
		foreign: []func(f fixture) request{func(f fixture) request {
			return request{method: "POST", path: "/members/" + id(f.foreignMember) + "/role", form: url.Values{"role": {"admin"}}}
		}}},
	{name: "remove member", action: licensing.RemoveMembers, changes: true,
		own: func(f fixture) request {
			return request{method: "POST", path: "/members/" + id(f.member["dave"]) + "/remove"}
		},
		foreign: []func(f fixture) request{func(f fixture) request {
			return request{method: "POST", path: "/members/" + id(f.foreignMember) + "/remove"}
		}}},
	{name: "assign seat", action: licensing.AssignSeats, changes: true,
		own: func(f fixture) request {
			return request{method: "POST", path: "/seats/assign", form: url.Values{"subscription": {id(f.globexSub)}, "member_id": {id(f.member["frank"])}}}
		},
		foreign: []func(f fixture) request{
			func(f fixture) request {
				return request{method: "POST", path: "/seats/assign", form: url.Values{"subscription": {id(f.umbrellaSub)}, "member_id": {id(f.member["frank"])}}}
			},
			func(f fixture) request {
				return request{method: "POST", path: "/seats/assign", form: url.Values{"subscription": {id(f.globexSub)}, "member_id": {id(f.member["frank"]), id(f.foreignMember)}}}
			},
		}},
	{name: "unassign seat", action: licensing.AssignSeats, changes: true,
		own: func(f fixture) request {
			return request{method: "POST", path: "/seats/unassign", form: url.Values{"subscription": {id(f.globexSub)}, "member_id": {id(f.member["carol"])}}}
		},
		foreign: []func(f fixture) request{
			func(f fixture) request {
				return request{method: "POST", path: "/seats/unassign", form: url.Values{"subscription": {id(f.umbrellaSub)}, "member_id": {id(f.member["carol"])}}}
			},
			func(f fixture) request {
				return request{method: "POST", path: "/seats/unassign", form: url.Values{"subscription": {id(f.globexSub)}, "member_id": {id(f.foreignMember)}}}
			},
		}},
	{name: "check a CSV", action: licensing.AssignSeats,
		own: func(f fixture) request {
			return request{method: "POST", path: "/seats/csv", form: url.Values{"subscription": {id(f.globexSub)}}, file: "email\nerin@globex.test\n"}
		},
		foreign: []func(f fixture) request{func(f fixture) request {
			return request{method: "POST", path: "/seats/csv", form: url.Values{"subscription": {id(f.umbrellaSub)}}, file: "email\nerin@globex.test\n"}
		}}},
	{name: "apply a CSV", action: licensing.AssignSeats, changes: true,
		own: func(f fixture) request {
			return request{method: "POST", path: "/seats/csv/apply", form: url.Values{"subscription": {id(f.globexSub)}, "email": {"erin@globex.test"}}}
		},
		foreign: []func(f fixture) request{func(f fixture) request {
			return request{method: "POST", path: "/seats/csv/apply", form: url.Values{"subscription": {id(f.umbrellaSub)}, "email": {"alice@umbrella.test"}}}
		}}},
	// Provisioning.
	{name: "provisioning page", action: licensing.ManageProvisioning, own: func(fixture) request {
		return request{method: "GET", path: "/settings/provisioning"}
	}},
	{name: "create a SCIM token", action: licensing.ManageProvisioning, changes: true, own: func(fixture) request {
		return request{method: "POST", path: "/settings/provisioning/tokens", form: url.Values{"name": {"Okta"}}}
	}},
	{name: "preview the unmatched policy", action: licensing.ManageProvisioning, own: func(fixture) request {
		return request{method: "POST", path: "/settings/provisioning/rules/preview", form: url.Values{"op": {"unmatched"}, "unmatched": {"deny"}}}
	}},
	{name: "seats page poll", action: licensing.ViewSeats, own: func(fixture) request { return request{method: "GET", path: "/seats/live?v=x"} }},
	{name: "pin a seat", action: licensing.AssignSeats, changes: true,
		own: func(f fixture) request {
			return request{method: "POST", path: "/seats/pin", form: url.Values{"subscription": {id(f.globexSub)}, "pin": {id(f.member["frank"]) + ":true"}}}
		},
		foreign: []func(f fixture) request{
			func(f fixture) request {
				return request{method: "POST", path: "/seats/pin", form: url.Values{"subscription": {id(f.umbrellaSub)}, "pin": {id(f.member["frank"]) + ":true"}}}
			},
			func(f fixture) request {
				return request{method: "POST", path: "/seats/pin", form: url.Values{"subscription": {id(f.globexSub)}, "pin": {id(f.foreignMember) + ":true"}}}
			},
		}},
	{name: "auto-assign", action: licensing.AssignSeats, changes: true,
		own: func(f fixture) request {
			return request{method: "POST", path: "/seats/auto-assign", form: url.Values{"subscription": {id(f.globexSub)}, "on": {"true"}}}
		},
		foreign: []func(f fixture) request{func(f fixture) request {
			return request{method: "POST", path: "/seats/auto-assign", form: url.Values{"subscription": {id(f.umbrellaSub)}, "on": {"true"}}}
		}}},
	// Insights.
	{name: "insights page", action: licensing.ViewInsights, own: func(fixture) request { return request{method: "GET", path: "/insights"} }},
	{name: "insights live fragment", action: licensing.ViewInsights, own: func(fixture) request { return request{method: "GET", path: "/insights/live?days=7"} }},
	{name: "insights charts", action: licensing.ViewInsights, own: func(fixture) request { return request{method: "GET", path: "/insights/charts?days=7"} }},
	{name: "compliance report", action: licensing.ViewInsights, own: func(fixture) request { return request{method: "GET", path: "/insights/report"} }},
	{name: "compliance CSV", action: licensing.ViewInsights, own: func(fixture) request { return request{method: "GET", path: "/insights/report.csv"} }},
	{name: "reclaim preview", action: licensing.ReclaimSeats,
		own: func(f fixture) request {
			return request{method: "POST", path: "/insights/reclaim/preview", form: url.Values{"subscription": {id(f.globexSub)}}}
		},
		foreign: []func(f fixture) request{
			func(f fixture) request {
				return request{method: "POST", path: "/insights/reclaim", form: url.Values{"subscription": {id(f.umbrellaSub)}}}
			},
			func(f fixture) request {
				return request{method: "POST", path: "/insights/reclaim", form: url.Values{"subscription": {id(f.globexSub)}, "member_id": {id(f.foreignMember)}}}
			},
		}},
	{name: "idle policy", action: licensing.ReclaimSeats, changes: true, own: func(fixture) request {
		return request{method: "POST", path: "/insights/settings", form: url.Values{"idle_days": {"20"}, "auto_reclaim_days": {"0"}}}
	}},
	// Single sign-on: Globex's plan (team) has no `sso`, so an allowed
	// change is answered with the explanation and changes nothing.
	{name: "SSO settings page", action: licensing.ManageSSO, own: func(fixture) request { return request{method: "GET", path: "/settings/sso"} }},
	{name: "SSO settings", action: licensing.ManageSSO, own: func(fixture) request {
		return request{method: "POST", path: "/settings/sso", form: url.Values{"issuer": {"http://127.0.0.1:1"}, "client_id": {"x"}}}
	}},
	{name: "SSO domain", action: licensing.ManageSSO, own: func(fixture) request {
		return request{method: "POST", path: "/settings/sso/domains", form: url.Values{"domain": {"globex.test"}}}
	}},
	// Devices: everyone sees their own machines; admins upload air-gapped
	// activation requests (alice holds a seat, so her machine activates).
	{name: "devices page", action: licensing.ManageOwnDevices, own: func(fixture) request { return request{method: "GET", path: "/devices"} }},
	{name: "offline activation", action: licensing.ManageDevices, changes: true, own: func(fixture) request {
		return request{method: "POST", path: "/devices/activate", file: `{"format":"entitle-activation-request/v1","fingerprint":"lab-7",
			"name":"lab-7","user":"alice@globex.test","nonce":"0123456789abcdef","created_at":"2026-01-01T00:00:00Z"}`}
	}},
}

// snapshot fingerprints everything the actions may change (and counts the
// audit log, which every change writes to).
func snapshot(t *testing.T, p *portal) string {
	t.Helper()
	var s string
	err := p.store.DB().QueryRow(`SELECT md5(
		(SELECT coalesce(string_agg(m.id || m.role || m.status, ',' ORDER BY m.id), '') FROM membership m) ||
		(SELECT coalesce(string_agg(s.subscription_id || ':' || s.membership_id, ',' ORDER BY s.id), '') FROM seat_assignment s) ||
		(SELECT count(*) FROM invitation)::text || (SELECT count(*) FROM outbox)::text ||
		(SELECT string_agg(a.id || a.invite_domains::text, ',' ORDER BY a.id) FROM account a) ||
		(SELECT string_agg(s.id || s.auto_assign::text || s.seats, ',' ORDER BY s.id) FROM subscription s) ||
		(SELECT count(*) FROM audit_entry)::text)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do sends r with the CSRF token of the client's session.
func (p *portal) do(c *http.Client, token string, r request) *http.Response {
	p.t.Helper()
	var req *http.Request
	var err error
	switch {
	case r.method == "GET":
		req, err = http.NewRequest("GET", p.srv.URL+r.path, nil)
	case r.file != "":
		fields := map[string]string{}
		for k := range r.form {
			fields[k] = r.form.Get(k)
		}
		body, contentType := multipartBody(token, fields, r.file)
		req, err = http.NewRequest("POST", p.srv.URL+r.path, body)
		if err == nil {
			req.Header.Set("Content-Type", contentType)
		}
	default:
		form := url.Values{"_csrf": {token}}
		for k, vs := range r.form {
			form[k] = vs
		}
		req, err = http.NewRequest("POST", p.srv.URL+r.path, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		p.t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// sessionToken signs in and returns the client and its CSRF token.
func (p *portal) session(email string) (*http.Client, string) {
	p.t.Helper()
	c := p.login(email)
	_, doc := p.get(c, "/")
	return c, csrfToken(doc)
}

// TestPermissionMatrixThroughTheRouter calls every route as every role,
// with the account's own ids and with another account's: a role the matrix
// refuses gets 403 and nothing changes; another account's ids get 404 and
// nothing changes; an allowed request succeeds (and changes what it should).
func TestPermissionMatrixThroughTheRouter(t *testing.T) {
	t.Parallel()
	roles := map[licensing.Role]string{licensing.Owner: "owner@globex.test", licensing.Admin: "admin@globex.test",
		licensing.Billing: "billing@globex.test", licensing.Member: "alice@globex.test"}
	for role, email := range roles {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			p := newPortal(t)
			f := loadFixture(t, p)
			c, token := p.session(email)
			for _, rc := range routeCases {
				allowed := licensing.Can(role, rc.action)
				for i, foreign := range rc.foreign {
					before := snapshot(t, p)
					res := p.do(c, token, foreign(f))
					want := http.StatusNotFound
					if !allowed {
						want = http.StatusForbidden
					}
					if res.StatusCode != want {
						t.Errorf("%s as %s with another account's ids (#%d): %d, want %d", rc.name, role, i, res.StatusCode, want)
					}
					if snapshot(t, p) != before {
						t.Errorf("%s as %s with another account's ids (#%d) changed the database", rc.name, role, i)
					}
				}
				before := snapshot(t, p)
				res := p.do(c, token, rc.own(f))
				changed := snapshot(t, p) != before
				switch {
				case allowed && res.StatusCode != http.StatusOK && res.StatusCode != http.StatusSeeOther:
					t.Errorf("%s as %s: %d, want 200 (or 303, post/redirect/get)", rc.name, role, res.StatusCode)
				case allowed && changed != rc.changes:
					t.Errorf("%s as %s: changed = %v, want %v", rc.name, role, changed, rc.changes)
				case !allowed && res.StatusCode != http.StatusForbidden:
					t.Errorf("%s as %s: %d, want 403", rc.name, role, res.StatusCode)
				case !allowed && changed:
					t.Errorf("%s as %s: refused, but the database changed", rc.name, role)
				}
			}
		})
	}
}

// TestEveryActionIsInTheMatrixTest keeps the route table above complete:
// each action of the matrix is exercised by at least one route.
func TestEveryActionIsInTheMatrixTest(t *testing.T) {
	t.Parallel()
	covered := map[licensing.Action]bool{}
	for _, rc := range routeCases {
		covered[rc.action] = true
	}
	for _, a := range licensing.Actions {
		if !covered[a] {
			t.Errorf("no route in the matrix test needs %s", a)
		}
	}
}

func TestNavShowsWhatTheRoleMayOpen(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	for email, want := range map[string]string{
		"owner@globex.test":   "Overview Members Seats Insights Billing Audit log Devices API keys Provisioning Single sign-on Support access Alerts",
		"billing@globex.test": "Overview Seats Insights Billing Devices",
		"alice@globex.test":   "Overview Devices",
	} {
		_, doc := p.get(p.login(email), "/")
		var got []string
		doc.Find(`nav[aria-label="Portal"] a`).Each(func(_ int, s *goquery.Selection) { got = append(got, s.Text()) })
		if strings.Join(got, " ") != want {
			t.Errorf("%s sees nav %q, want %q", email, got, want)
		}
	}
}

// multipartBody is a form with one CSV file, as a browser uploads it.
func multipartBody(token string, fields map[string]string, file string) (*bytes.Buffer, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", token)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "seats.csv")
	_, _ = fw.Write([]byte(file))
	_ = mw.Close()
	return &body, mw.FormDataContentType()
}

// TestTwoAccountPersonActsOnlyInTheChosenAccount runs the matrix's
// other-account requests as a person who is a member of both accounts:
// acting in one, the other's ids are 404 (or 403 where the role there may
// not act at all), nothing changes, and no page or fragment shows the other
// account's people.
func TestTwoAccountPersonActsOnlyInTheChosenAccount(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := newClient()
	_, doc := p.get(c, "/login")
	res, _ := p.post(c, "/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {store.DemoTwoAccountPerson}, "password": {store.DemoPassword}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accounts" {
		t.Fatalf("a person in two accounts signs in: %d → %s, want the account picker", res.StatusCode, res.Header.Get("Location"))
	}
	_, doc = p.get(c, "/accounts")
	if n := doc.Find(`[data-testid^="choose-account-"]`).Length(); n != 2 {
		t.Fatalf("the picker offers %d accounts, want 2", n)
	}
	ids := func(slug, email string) (sub, member int64) {
		if err := p.store.DB().QueryRow(`SELECT s.id FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = $1`, slug).Scan(&sub); err != nil {
			t.Fatal(err)
		}
		if err := p.store.DB().QueryRow(`SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = $1`, email).Scan(&member); err != nil {
			t.Fatal(err)
		}
		return sub, member
	}
	for _, acting := range []struct {
		slug, name  string
		role        licensing.Role
		otherSlug   string
		otherMember string // a person of the other account only
	}{
		{"initech", "Initech", licensing.Admin, "umbrella", "alice@umbrella.test"},
		{"umbrella", "Umbrella", licensing.Billing, "initech", "peter@initech.test"},
	} {
		token := csrfToken(doc)
		res := p.do(c, token, request{method: "POST", path: "/accounts/switch", form: url.Values{"account": {acting.slug}}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("switch to %s: %d", acting.slug, res.StatusCode)
		}
		_, doc = p.get(c, "/")
		if got := text(doc, "current-account"); got != acting.name {
			t.Fatalf("after switching to %s the portal shows %q", acting.slug, got)
		}
		token = csrfToken(doc)
		var f fixture
		f.umbrellaSub, f.foreignMember = ids(acting.otherSlug, acting.otherMember)
		f.globexSub, f.member = f.umbrellaSub, map[string]int64{"frank": f.foreignMember, "carol": f.foreignMember}
		for _, rc := range routeCases {
			for i, foreign := range rc.foreign {
				before := snapshot(t, p)
				res := p.do(c, token, foreign(f))
				want := http.StatusNotFound
				if !licensing.Can(acting.role, rc.action) {
					want = http.StatusForbidden
				}
				if res.StatusCode != want {
					t.Errorf("in %s, %s with %s's ids (#%d): %d, want %d", acting.slug, rc.name, acting.otherSlug, i, res.StatusCode, want)
				}
				if snapshot(t, p) != before {
					t.Errorf("in %s, %s with %s's ids (#%d) changed the database", acting.slug, rc.name, acting.otherSlug, i)
				}
			}
		}
		for _, path := range []string{"/", "/members", "/members?q=a", "/seats", "/seats/live?v=x", "/billing", "/audit",
			"/insights", "/insights/live?days=7", "/insights/charts?days=7", "/settings/api-keys", "/settings/provisioning", "/profile"} {
			res, page := p.get(c, path)
			if res.StatusCode != http.StatusOK {
				continue // refused by the role here: nothing shown
			}
			if html, _ := page.Html(); strings.Contains(html, acting.otherMember) {
				t.Errorf("in %s, %s shows %s of %s", acting.slug, path, acting.otherMember, acting.otherSlug)
			}
		}
	}
	res = p.do(c, csrfToken(doc), request{method: "POST", path: "/accounts/switch", form: url.Values{"account": {"globex"}}})
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("switch to an account the person is not in: %d, want 404", res.StatusCode)
	}
}
