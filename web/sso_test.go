package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/oidcdemo"
	"github.com/entitle-dev/entitle/store"
)

func TestAColleagueSignsInThroughTheIdPAndBecomesAMemberJustInTime(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	r.store.DB().MustExec(`UPDATE sso_config SET default_role = 'billing' WHERE account_id = $1`, r.hooli)
	c := newClient()
	res := r.signInThroughIdP(c, "jared@hooli.test")
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("callback answered %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, doc := r.get(c, "/")
	if !strings.Contains(doc.Find("body").Text(), "Hooli") {
		t.Fatal("the new member does not land on Hooli's overview")
	}
	var m struct {
		Role   string `db:"role"`
		Status string `db:"status"`
		Signed bool   `db:"signed"`
	}
	if err := r.store.DB().Get(&m, `
SELECT m.role, m.status, m.last_sign_in_at IS NOT NULL AS signed
FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND u.email = 'jared@hooli.test'`, r.hooli); err != nil {
		t.Fatal(err)
	}
	if m.Role != "billing" || m.Status != "active" || !m.Signed {
		t.Fatalf("just-in-time member = %+v, want the default role billing, active, a last sign-in", m)
	}
	// The Engineering rule's seat is given by the reconciler, as for a
	// person SCIM created; the callback waits for its run, so the first
	// page already shows it.
	if held, _ := doc.Find(`[data-testid="my-licence"]`).Attr("data-holds"); held != "true" {
		t.Errorf("the first page says the new member holds no seat (data-holds %q)", held)
	}
	if n := r.count(`SELECT count(*) FROM seat_assignment sa JOIN membership m ON m.id = sa.membership_id
JOIN app_user u ON u.id = m.user_id WHERE m.account_id = $1 AND u.email = 'jared@hooli.test'`, r.hooli); n != 1 {
		t.Errorf("%d seats by the Engineering rule after the sign-in, want 1", n)
	}
	if n := r.count(`SELECT count(*) FROM audit_entry WHERE account_id = $1 AND action = 'sso.sign_in'
AND after->>'provider' = $2 AND after->>'subject' = 'sub-jared'`, r.hooli, r.idp.Issuer); n != 1 {
		t.Fatalf("%d sign-in audit entries with provider and subject, want 1", n)
	}

	// The second time, the same person is found by (issuer, subject).
	res = r.signInThroughIdP(newClient(), "jared@hooli.test")
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in answered %d", res.StatusCode)
	}
	if n := r.count(`SELECT count(*) FROM sso_identity WHERE account_id = $1 AND subject = 'sub-jared'`, r.hooli); n != 1 {
		t.Fatalf("%d identities for one subject", n)
	}
}

// refusedPage asserts the clear refusal page with its reason.
func refusedPage(t *testing.T, res *http.Response, reason string) {
	t.Helper()
	defer res.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want a refusal", res.StatusCode)
	}
	got, _ := doc.Find(`[data-testid="sso-refused"]`).Attr("data-reason")
	if got != reason || strings.TrimSpace(doc.Find(`[data-testid="sso-refused"]`).Text()) == "" {
		t.Fatalf("refusal reason %q (%q), want %q", got, doc.Find(`[data-testid="sso-refused"]`).Text(), reason)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "entitle_session" && ck.MaxAge >= 0 && ck.Value != "" {
			t.Fatal("a refused callback started a session")
		}
	}
}

func TestTamperedCallbacksAreRefusedAuditedAndCreateNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		email  string
		reason string
		// tamper runs before the callback is delivered and answers the
		// callback URL to deliver.
		tamper func(r *ssoRig, c *http.Client, cb string) string
	}{
		{"state", "monica@hooli.test", "state_mismatch", func(r *ssoRig, c *http.Client, cb string) string {
			return withQuery(cb, "state", "forged-state")
		}},
		{"code", "monica@hooli.test", "code_exchange_failed", func(r *ssoRig, c *http.Client, cb string) string {
			return withQuery(cb, "code", "forged-code")
		}},
		{"nonce replay", "monica@hooli.test", "nonce_mismatch", func(r *ssoRig, c *http.Client, cb string) string {
			r.idp.Tamper(oidcdemo.Tampering{Nonce: "nonce-of-an-earlier-sign-in"})
			return cb
		}},
		{"another account's issuer", "monica@hooli.test", "issuer_mismatch", func(r *ssoRig, c *http.Client, cb string) string {
			r.idp.Tamper(oidcdemo.Tampering{Issuer: "http://127.0.0.1:1/another-account"})
			return cb
		}},
		{"unverified email", "monica@hooli.test", "email_unverified", func(r *ssoRig, c *http.Client, cb string) string {
			r.idp.SetUser(oidcdemo.User{Subject: "sub-monica", Email: "monica@hooli.test", Password: ssoPassword, Name: "Monica Hall"})
			return cb
		}},
		{"email outside the domains", "gilfoyle@piedpiper.test", "email_outside_domains", func(r *ssoRig, c *http.Client, cb string) string {
			return cb
		}},
		{"expired token", "monica@hooli.test", "token_expired", func(r *ssoRig, c *http.Client, cb string) string {
			r.clock.Set(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
			return cb
		}},
		{"token for another client id", "monica@hooli.test", "audience_mismatch", func(r *ssoRig, c *http.Client, cb string) string {
			r.idp.Tamper(oidcdemo.Tampering{Audience: []string{"other-app"}})
			return cb
		}},
	}
	// One portal and provider for every case, put back after each.
	r := newSSORig(t)
	r.idp.SetUser(oidcdemo.User{Subject: "sub-gilfoyle", Email: "gilfoyle@piedpiper.test", Password: ssoPassword,
		Name: "Bertram Gilfoyle", EmailVerified: true})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r.idp.Tamper(oidcdemo.Tampering{})
				r.clock.Set(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
				r.idp.SetUser(ssoUsers[1])
			}()
			c := newClient()
			// Someone on Hooli's domain starts the sign-in; the provider
			// vouches for tc.email.
			cb := r.atProvider(c, r.startSSO(c, "monica@hooli.test"), tc.email)
			members := r.count(`SELECT count(*) FROM membership`)
			users := r.count(`SELECT count(*) FROM app_user`)
			res, err := c.Get(tc.tamper(r, c, cb))
			if err != nil {
				t.Fatal(err)
			}
			refusedPage(t, res, tc.reason)
			if m, u := r.count(`SELECT count(*) FROM membership`), r.count(`SELECT count(*) FROM app_user`); m != members || u != users {
				t.Fatalf("a refused callback created members (%d → %d) or users (%d → %d)", members, m, users, u)
			}
			if n := r.count(`SELECT count(*) FROM sso_identity`); n != 0 {
				t.Fatalf("a refused callback linked %d identities", n)
			}
			if n := r.count(`SELECT count(*) FROM audit_entry WHERE action = 'sso.sign_in.refused' AND after->>'reason' = $1`, tc.reason); n != 1 {
				t.Fatalf("%d audit entries for the refusal, want 1", n)
			}
		})
	}
}

func withQuery(raw, key, value string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestACallbackWorksOnce(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	c := newClient()
	cb := r.atProvider(c, r.startSSO(c, "monica@hooli.test"), "monica@hooli.test")
	res, err := c.Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback answered %d", res.StatusCode)
	}
	// Replayed with the state cookie put back: the state is used up.
	u, _ := url.Parse(r.srv.URL + "/sso/callback")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "entitle_sso_state", Value: mustURL(cb).Query().Get("state"), Path: "/sso/callback"}})
	res, err = c.Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	refusedPage(t, res, "state_unknown")
	if n := r.count(`SELECT count(*) FROM sso_failure WHERE account_id IS NULL AND reason = 'state_unknown'`); n != 1 {
		t.Fatalf("%d recorded failures of the replay", n)
	}
}

func TestSCIMDeactivatedPeopleCannotSignInThroughTheIdP(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	res := r.signInThroughIdP(newClient(), "monica@hooli.test")
	res.Body.Close()
	r.store.DB().MustExec(`UPDATE membership SET scim_active = false, status = 'deactivated'
WHERE account_id = $1 AND user_id = (SELECT id FROM app_user WHERE email = 'monica@hooli.test')`, r.hooli)
	refusedPage(t, r.signInThroughIdP(newClient(), "monica@hooli.test"), "not_admitted")
}

func TestRequireSSORefusesPasswordsButTheBreakGlassOwners(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	r.store.DB().MustExec(`UPDATE sso_config SET require_sso = true WHERE account_id = $1`, r.hooli)

	c := newClient()
	_, doc := r.get(c, "/login")
	res, doc := r.post(c, "/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {"cto@hooli.test"}, "password": {store.DemoPassword}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(text(doc, "login-error"), "single sign-on") {
		t.Fatalf("password sign-in under require SSO: %d %q", res.StatusCode, text(doc, "login-error"))
	}
	// Globex is not on Hooli's domain: unaffected.
	r.login("owner@globex.test")

	// The break-glass owner (owner@hooli.test) gets in; audited; the other
	// owner is told by mail.
	r.login("owner@hooli.test")
	if n := r.count(`SELECT count(*) FROM audit_entry WHERE account_id = $1 AND action = 'sso.break_glass.sign_in'`, r.hooli); n != 1 {
		t.Fatalf("%d break-glass audit entries", n)
	}
	if n := r.count(`SELECT count(*) FROM outbox WHERE account_id = $1 AND kind = 'sso_break_glass' AND to_address = 'cto@hooli.test'`, r.hooli); n != 1 {
		t.Fatalf("%d mails to the other owner", n)
	}
}
