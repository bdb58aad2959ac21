package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/twofactor"
)

// linkIn reads the newest mail of kind to an address from the outbox and
// returns the path of its link under prefix.
func (p *portal) linkIn(to, kind, prefix string) string {
	p.t.Helper()
	var body string
	if err := p.store.DB().Get(&body, `SELECT body FROM outbox WHERE to_address = $1 AND kind = $2 ORDER BY id DESC LIMIT 1`, to, kind); err != nil {
		p.t.Fatalf("no %s mail to %s: %v", kind, to, err)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `[A-Za-z0-9_-]+`).FindString(body)
	if m == "" {
		p.t.Fatalf("no %s link in %q", prefix, body)
	}
	return m
}

// submit gets a page and posts a form from it (with its CSRF token).
func (p *portal) submit(c *http.Client, page, action string, form url.Values) (*http.Response, *goquery.Document) {
	p.t.Helper()
	_, doc := p.get(c, page)
	form.Set("_csrf", csrfToken(doc))
	return p.post(c, action, form)
}

func signupForm(email, plan string) url.Values {
	return url.Values{"email": {email}, "name": {"Vera Visitor"}, "password": {"a long enough password"},
		"company": {"Vandelay Industries"}, "plan": {plan}}
}

func TestPricingShowsTheCatalogWithoutSigningIn(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	res, doc := p.get(newClient(), "/pricing")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/pricing: %d", res.StatusCode)
	}
	var plans []string
	doc.Find(`[data-testid="pricing-plan"]`).Each(func(_ int, s *goquery.Selection) { plans = append(plans, s.AttrOr("data-plan", "")) })
	if strings.Join(plans, " ") != "free team business enterprise" {
		t.Errorf("plans = %v", plans)
	}
	business := doc.Find(`[data-plan="business"]`)
	if got := strings.TrimSpace(business.Find(`[data-testid="pricing-trial"]`).Text()); !strings.HasPrefix(got, "14-day free trial") {
		t.Errorf("business trial = %q", got)
	}
	if got := strings.TrimSpace(business.Find(`[data-testid="pricing-price"]`).Text()); got != "$29.00 per seat / month" {
		t.Errorf("business price = %q", got)
	}
	if href := doc.Find(`[data-testid="pricing-action-team"]`).AttrOr("href", ""); href != "/signup?plan=team" {
		t.Errorf("team's way in = %q", href)
	}
	// A feature's value never wraps onto a line of its own (a lone "—"
	// under "CSV and PDF exports:" at 390 px): it is tied to its name.
	doc.Find(`[data-plan] li[data-feature]`).Each(func(_ int, li *goquery.Selection) {
		if text := li.Text(); !strings.Contains(text, ":\u00a0") {
			t.Errorf("feature line %q: its value may wrap away from its name", text)
		}
	})
}

func TestSignupRefusesBadInputBesideTheFieldAndKeepsIt(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := newClient()
	form := signupForm("vera@mailinator.com", "business")
	form.Set("password", "short")
	res, doc := p.submit(c, "/signup?plan=business", "/signup", form)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad sign-up: %d", res.StatusCode)
	}
	for _, field := range []string{"email", "password"} {
		if text(doc, "error-"+field) == "" {
			t.Errorf("no message beside %s", field)
		}
	}
	if v := doc.Find(`[data-testid="signup-company"]`).AttrOr("value", ""); v != "Vandelay Industries" {
		t.Errorf("company not kept: %q", v)
	}
	if v := doc.Find(`[data-testid="signup-plan"] option[selected]`).AttrOr("value", ""); v != "business" {
		t.Errorf("plan not kept: %q", v)
	}
	if res, _ := p.post(c, "/signup", signupForm("vera@vandelay.test", "")); res.StatusCode != http.StatusForbidden {
		t.Errorf("a sign-up without the CSRF token: %d", res.StatusCode)
	}
}

// A company's name is an account's name: the sign-up form and the console's
// new-account form let the browser take exactly as many characters as the
// rule accepts, so nobody types a name only to have it refused.
func TestAnAccountsNameFieldTakesWhatTheRuleAccepts(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	longest := strings.Repeat("V", licensing.MaxCompanyLength)
	c := newClient()
	_, doc := p.get(c, "/signup")
	if got := doc.Find(`[data-testid="signup-company"]`).AttrOr("maxlength", ""); got != strconv.Itoa(licensing.MaxCompanyLength) {
		t.Errorf("sign-up company field takes %s characters, the rule %d", got, licensing.MaxCompanyLength)
	}
	if got := doc.Find(`[data-testid="signup-name"]`).AttrOr("maxlength", ""); got != strconv.Itoa(licensing.MaxNameLength) {
		t.Errorf("sign-up name field takes %s characters, the rule %d", got, licensing.MaxNameLength)
	}
	form := signupForm("vera@vandelay.test", "team")
	form.Set("company", longest+"V")
	if res, doc := p.submit(c, "/signup", "/signup", form); res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-company") == "" {
		t.Errorf("a company name one character too long: %d, message %q", res.StatusCode, text(doc, "error-company"))
	}
	form.Set("company", longest)
	if res, _ := p.submit(c, "/signup", "/signup", form); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a company name of %d characters: %d", licensing.MaxCompanyLength, res.StatusCode)
	}

	admin := p.staffLogin("admin@acme.test")
	_, doc = p.get(admin, "/admin/accounts/new")
	if got := doc.Find(`[data-testid="new-account-name"]`).AttrOr("maxlength", ""); got != strconv.Itoa(licensing.MaxCompanyLength) {
		t.Errorf("console account name field takes %s characters, the rule %d", got, licensing.MaxCompanyLength)
	}
	res, doc := p.submit(admin, "/admin/accounts/new", "/admin/accounts/new", url.Values{"name": {longest + "V"}, "owner": {"tony@stark.test"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(doc, "error-name"), strconv.Itoa(licensing.MaxCompanyLength)) {
		t.Errorf("console, a name one character too long: %d, message %q", res.StatusCode, text(doc, "error-name"))
	}
}

func TestSignupAnswersTheSameWhetherOrNotTheAddressHasALogin(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	// The answer names the address typed (a typo is seen at once), and is
	// otherwise the same for both.
	answer := func(email string) string {
		c := newClient()
		res, _ := p.submit(c, "/signup", "/signup", signupForm(email, "team"))
		_, doc := p.get(c, res.Header.Get("Location"))
		got := res.Status + " → " + res.Header.Get("Location") + ": " + text(doc, "flash")
		if !strings.Contains(got, "We sent a link to "+email+":") {
			t.Errorf("the answer to %s does not name the address: %q", email, got)
		}
		return strings.ReplaceAll(got, email, "ADDRESS")
	}
	known, unknown := answer("owner@globex.test"), answer("stranger@vandelay.test")
	if known != unknown {
		t.Errorf("known address: %q\nunknown address: %q", known, unknown)
	}
	var kinds []string
	if err := p.store.DB().Select(&kinds, `SELECT kind FROM outbox WHERE to_address IN ('owner@globex.test', 'stranger@vandelay.test') ORDER BY to_address`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kinds, " ") != "signup_existing signup_verify" {
		t.Errorf("mails = %v, want 'you already have an account' to the known address", kinds)
	}
}

func TestSignupForBusinessStartsATrialWithoutACard(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := newClient()
	if res, _ := p.submit(c, "/signup?plan=business", "/signup", signupForm("vera@vandelay.test", "business")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-up: %d", res.StatusCode)
	}
	link := p.linkIn("vera@vandelay.test", "signup_verify", "/signup/verify/")
	res, _ := p.submit(c, link, link, url.Values{})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("verify: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	// Until billing's events are applied the overview says the plan is
	// starting (and reloads itself), with a placeholder where the plan
	// shows: not "No subscription" over entitlements all "Not in your plan".
	if _, doc := p.get(c, "/"); text(doc, "plan-starting") == "" || text(doc, "plan-placeholder") == "" ||
		doc.Find(`[data-testid="plan-name"], [data-testid="entitlement-row"], [data-testid="choose-plan"]`).Length() != 0 {
		t.Errorf("before the events land: starting %q, placeholder %q, plan %q, %d entitlement rows", text(doc, "plan-starting"),
			text(doc, "plan-placeholder"), text(doc, "plan-name"), doc.Find(`[data-testid="entitlement-row"]`).Length())
	}
	process(t, b)
	_, doc := p.get(c, "/")
	if text(doc, "plan-starting") != "" {
		t.Error("the plan is still said to be starting once it has")
	}
	if got := text(doc, "current-account"); got != "Vandelay Industries" {
		t.Errorf("signed in to %q", got)
	}
	if plan, status := text(doc, "plan-name"), text(doc, "plan-status"); plan != "Business" || status != "Trial" {
		t.Errorf("plan = %s, %s", plan, status)
	}
	if got := text(doc, "trial-countdown"); !strings.Contains(got, "14 days left") {
		t.Errorf("countdown = %q", got)
	}
	if n := countRows(t, p, `SELECT count(*) FROM billing_sim_customer c JOIN account a ON a.id = c.account_id
		WHERE a.name = 'Vandelay Industries' AND NOT c.has_payment_method`); n != 1 {
		t.Errorf("the trial's customer: %d without a card, want 1 (no card asked)", n)
	}
	// The link works once.
	if res, doc := p.get(newClient(), link); res.StatusCode != http.StatusGone || text(doc, "error-message") == "" {
		t.Errorf("second use of the link: %d", res.StatusCode)
	}
}

func TestBuyingTeamThroughTheSimulatorCheckoutAndAbandoningIt(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	verify := func(email string) *http.Client {
		c := newClient()
		p.submit(c, "/signup?plan=team", "/signup", signupForm(email, "team"))
		link := p.linkIn(email, "signup_verify", "/signup/verify/")
		res, _ := p.submit(c, link, link, url.Values{})
		if res.Header.Get("Location") != "/billing/checkout?plan=team" {
			t.Fatalf("verify for a paid plan: %d → %s", res.StatusCode, res.Header.Get("Location"))
		}
		return c
	}
	buyer := verify("buyer@vandelay.test")
	res, doc := p.submit(buyer, "/billing/checkout?plan=team", "/billing/checkout", url.Values{"plan": {"team"}, "seats": {"0"}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-seats") == "" {
		t.Errorf("zero seats: %d, %q", res.StatusCode, text(doc, "error-seats"))
	}
	res, _ = p.submit(buyer, "/billing/checkout?plan=team", "/billing/checkout", url.Values{"plan": {"team"}, "seats": {"4"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("pay: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	process(t, b)
	_, doc = p.get(buyer, "/")
	if plan, status, seats := text(doc, "plan-name"), text(doc, "plan-status"), text(doc, "seats-purchased"); plan != "Team" || status != "Active" || seats != "4" {
		t.Errorf("after checkout: %s, %s, %s seats", plan, status, seats)
	}

	// A checkout left half way leaves an account without a subscription.
	quitter := verify("quitter@vandelay.test")
	_, _ = p.get(quitter, "/billing/checkout?plan=team")
	process(t, b)
	if n := countRows(t, p, `SELECT count(*) FROM subscription s JOIN membership m ON m.account_id = s.account_id
		JOIN app_user u ON u.id = m.user_id WHERE u.email = 'quitter@vandelay.test'`); n != 0 {
		t.Errorf("an abandoned checkout left %d subscriptions", n)
	}
	if res, _ := p.get(quitter, "/"); res.StatusCode != http.StatusOK {
		t.Errorf("the unsubscribed account's overview: %d", res.StatusCode)
	}
}

func countRows(t *testing.T, p *portal, query string) int {
	t.Helper()
	var n int
	if err := p.store.DB().Get(&n, query); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestResetEndsTheOldSessionAndAnswersUnknownAddressesAlike(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	old := p.login("owner@globex.test")
	answer := func(email string) string {
		c := newClient()
		res, _ := p.submit(c, "/password/forgot", "/password/forgot", url.Values{"email": {email}})
		_, doc := p.get(c, res.Header.Get("Location"))
		return res.Status + " → " + res.Header.Get("Location") + ": " + text(doc, "flash")
	}
	if known, unknown := answer("owner@globex.test"), answer("nobody@globex.test"); known != unknown {
		t.Errorf("known: %q\nunknown: %q", known, unknown)
	}
	link := p.linkIn("owner@globex.test", "password_reset", "/password/reset/")
	c := newClient()
	res, doc := p.submit(c, link, link, url.Values{"password": {"short"}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-password") == "" {
		t.Fatalf("short password: %d", res.StatusCode)
	}
	res, _ = p.submit(c, link, link, url.Values{"password": {"the new globex password"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("reset: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := p.get(old, "/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("the session from before the reset still works: %d", res.StatusCode)
	}
	res, _ = p.submit(newClient(), "/login", "/login", url.Values{"email": {"owner@globex.test"}, "password": {"the new globex password"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign in with the new password: %d", res.StatusCode)
	}
	if res, _ := p.get(newClient(), link); res.StatusCode != http.StatusGone {
		t.Errorf("the used link: %d, want 410", res.StatusCode)
	}
}

func TestProfileNamePasswordAndSignOutTheOthers(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	other := p.login("admin@globex.test")
	c := p.login("admin@globex.test")
	res, doc := p.submit(c, "/profile", "/profile/name", url.Values{"name": {""}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-name") == "" {
		t.Errorf("empty name: %d", res.StatusCode)
	}
	if res, _ := p.submit(c, "/profile", "/profile/name", url.Values{"name": {"Ada A. Admin"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("name: %d", res.StatusCode)
	}
	_, doc = p.get(c, "/profile")
	if v := doc.Find(`[data-testid="profile-name"]`).AttrOr("value", ""); v != "Ada A. Admin" || text(doc, "flash") != "Name saved." {
		t.Errorf("name after saving: %q, flash %q", v, text(doc, "flash"))
	}
	if n := doc.Find(`[data-testid="profile-session"]`).Length(); n != 2 {
		t.Errorf("%d sessions listed, want 2", n)
	}
	// The top bar says where the person is, here as on the pages of its menu.
	if cur := doc.Find(`[data-testid="profile-link"]`).AttrOr("aria-current", ""); cur != "page" {
		t.Errorf("the Profile link on /profile: aria-current %q, want page", cur)
	}
	if _, home := p.get(c, "/"); home.Find(`[data-testid="profile-link"][aria-current]`).Length() != 0 {
		t.Error("the Profile link is marked current on the overview")
	}
	res, doc = p.submit(c, "/profile", "/profile/password", url.Values{"current_password": {"wrong"}, "new_password": {"a new admin password"}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-current_password") == "" {
		t.Errorf("wrong current password: %d", res.StatusCode)
	}
	if res, _ := p.submit(c, "/profile", "/profile/sessions/end-others", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign out the others: %d", res.StatusCode)
	}
	if res, _ := p.get(other, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the other session survived: %d", res.StatusCode)
	}
	if res, _ := p.get(c, "/"); res.StatusCode != http.StatusOK {
		t.Errorf("this session ended too: %d", res.StatusCode)
	}
}

func TestStaffCreatedByCommandEnrolsTOTPAndSignsInWithACode(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	link, err := p.store.CreateStaff(t.Context(), store.SystemActor("test"), store.NewStaff{Email: "root@vendor.test", Role: "admin", BaseURL: p.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(link, p.srv.URL)
	c := newClient()
	if res, _ := p.submit(c, path, path, url.Values{"password": {"root staff password"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set password: %d", res.StatusCode)
	}
	signIn := func() *http.Response {
		res, _ := p.submit(c, "/admin/login", "/admin/login", url.Values{"email": {"root@vendor.test"}, "password": {"root staff password"}})
		return res
	}
	if res := signIn(); res.Header.Get("Location") != "/admin" {
		t.Fatalf("first sign-in: %s", res.Header.Get("Location"))
	}
	// An admin without two-factor is sent to enrol before anything else.
	for _, page := range []string{"/admin", "/admin/staff", "/admin/accounts/new"} {
		if res, _ := p.get(c, page); res.Header.Get("Location") != "/admin/two-factor" {
			t.Errorf("%s before enrolling: %d → %s", page, res.StatusCode, res.Header.Get("Location"))
		}
	}
	_, doc := p.get(c, "/admin/two-factor")
	secret := text(doc, "two-factor-secret")
	if secret == "" || doc.Find(`[data-testid="two-factor-qr"]`).AttrOr("src", "") == "" {
		t.Fatal("no QR code or secret")
	}
	res, doc := p.post(c, "/admin/two-factor", url.Values{"_csrf": {csrfToken(doc)}, "code": {"000000"}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-code") == "" {
		t.Errorf("a wrong first code: %d", res.StatusCode)
	}
	code, _ := twofactor.Code(secret, time.Now())
	res, doc = p.post(c, "/admin/two-factor", url.Values{"_csrf": {csrfToken(doc)}, "code": {code}})
	if n := doc.Find(`[data-testid="recovery-code"]`).Length(); res.StatusCode != http.StatusOK || n != 10 {
		t.Fatalf("enrol: %d with %d recovery codes", res.StatusCode, n)
	}
	recovery := text(doc, "recovery-code")
	if res, _ := p.get(c, "/admin/staff"); res.StatusCode != http.StatusOK {
		t.Errorf("after enrolling: %d", res.StatusCode)
	}

	p.submit(c, "/admin", "/admin/logout", url.Values{})
	if res := signIn(); res.Header.Get("Location") != "/admin/login/code" {
		t.Fatalf("sign-in with two-factor on: %s", res.Header.Get("Location"))
	}
	if res, _ := p.get(c, "/admin"); res.Header.Get("Location") != "/admin/login" {
		t.Errorf("before the code there is no session: %s", res.Header.Get("Location"))
	}
	res, doc = p.submit(c, "/admin/login/code", "/admin/login/code", url.Values{"code": {code}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(text(doc, "error-code"), "already used") {
		t.Errorf("the enrolment's code again: %d %q", res.StatusCode, text(doc, "error-code"))
	}
	res, _ = p.submit(c, "/admin/login/code", "/admin/login/code", url.Values{"code": {recovery}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
		t.Fatalf("recovery code: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	p.submit(c, "/admin", "/admin/logout", url.Values{})
	signIn()
	if res, _ := p.submit(c, "/admin/login/code", "/admin/login/code", url.Values{"code": {recovery}}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a spent recovery code: %d", res.StatusCode)
	}
}

func TestSupportAndOpsSignInWithThePasswordAlone(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	for _, email := range []string{"support@acme.test", "ops@acme.test"} {
		res, _ := p.submit(newClient(), "/admin/login", "/admin/login", url.Values{"email": {email}, "password": {store.DemoPassword}})
		if res.Header.Get("Location") != "/admin" {
			t.Errorf("%s: → %s, want the console at once", email, res.Header.Get("Location"))
		}
	}
}

func TestConsoleCreatesAnAccountAndTheOwnerAccepts(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	admin := p.staffLogin("admin@acme.test")
	res, doc := p.submit(admin, "/admin/accounts/new", "/admin/accounts/new", url.Values{"name": {""}, "owner": {"nope"}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-name") == "" || text(doc, "error-owner_email") == "" {
		t.Errorf("bad form: %d", res.StatusCode)
	}
	res, _ = p.submit(admin, "/admin/accounts/new", "/admin/accounts/new", url.Values{"name": {"Stark Industries"},
		"owner": {"tony@stark.test"}, "plan": {"team"}, "grant": {"grant"}, "seats": {"8"}, "external_id": {"crm-1"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/accounts/stark-industries" {
		t.Fatalf("create: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := p.get(p.staffLogin("support@acme.test"), "/admin/accounts/new"); res.StatusCode != http.StatusForbidden {
		t.Errorf("support opens account creation: %d", res.StatusCode)
	}
	link := p.linkIn("tony@stark.test", "invitation", "/invitations/")
	tony := newClient()
	res, _ = p.submit(tony, link, link, url.Values{"name": {"Tony Stark"}, "password": {"i am iron man"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d", res.StatusCode)
	}
	_, doc = p.get(tony, "/")
	if got, plan, seats := text(doc, "current-account"), text(doc, "plan-name"), text(doc, "seats-purchased"); got != "Stark Industries" || plan != "Team" || seats != "8" {
		t.Errorf("owner lands in %q on %s with %s seats", got, plan, seats)
	}
}

// An account made without an external id records "" for it: its audit
// entry lists the name it was given and nothing for the empty id (it read
// "external id: was", half a sentence about nothing).
func TestANewAccountsAuditEntryListsNoEmptyField(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	admin := p.staffLogin("admin@acme.test")
	res, _ := p.submit(admin, "/admin/accounts/new", "/admin/accounts/new", url.Values{"name": {"Wayne Enterprises"}, "owner": {"bruce@wayne.test"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	_, doc := p.get(admin, res.Header.Get("Location"))
	var changes []string
	doc.Find(`[data-testid="audit-entry"][data-action="account.create"] [data-testid="audit-change"]`).Each(func(_ int, li *goquery.Selection) {
		changes = append(changes, strings.Join(strings.Fields(li.Text()), " "))
	})
	if strings.Join(changes, "; ") != "name: Wayne Enterprises" {
		t.Errorf("the new account's audit entry lists %q, want only its name", changes)
	}
}

func TestACustomerTurnsOnTwoFactorAndThenSignsInWithACode(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("owner@umbrella.test")
	_, doc := p.get(c, "/profile/two-factor")
	secret := text(doc, "two-factor-secret")
	code, _ := twofactor.Code(secret, time.Now())
	res, doc := p.post(c, "/profile/two-factor", url.Values{"_csrf": {csrfToken(doc)}, "code": {code}})
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="recovery-code"]`).Length() != 10 {
		t.Fatalf("enrol: %d", res.StatusCode)
	}
	if _, doc := p.get(c, "/profile"); !strings.HasPrefix(text(doc, "profile-two-factor"), "On") {
		t.Errorf("profile says %q", text(doc, "profile-two-factor"))
	}
	fresh := newClient()
	res, _ = p.submit(fresh, "/login", "/login", url.Values{"email": {"owner@umbrella.test"}, "password": {store.DemoPassword}})
	if res.Header.Get("Location") != "/login/code" {
		t.Fatalf("password alone: → %s, want the code step", res.Header.Get("Location"))
	}
	if res, _ := p.get(fresh, "/"); res.Header.Get("Location") != "/login" {
		t.Errorf("before the code there is no session: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, doc = p.submit(fresh, "/login/code", "/login/code", url.Values{"code": {"123"}})
	if res.StatusCode != http.StatusUnauthorized || text(doc, "error-code") == "" {
		t.Errorf("a wrong code: %d", res.StatusCode)
	}
	next, _ := twofactor.Code(secret, time.Now().Add(twofactor.Period))
	res, _ = p.submit(fresh, "/login/code", "/login/code", url.Values{"code": {next}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("the code: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	if _, doc := p.get(fresh, "/"); text(doc, "current-account") != "Umbrella" {
		t.Errorf("signed in to %q", text(doc, "current-account"))
	}
}

func TestAnAdminInvitesStaffAndChangesRoles(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	admin := p.staffLogin("admin@acme.test")
	res, doc := p.submit(admin, "/admin/staff", "/admin/staff", url.Values{"email": {"not an address"}, "role": {"support"}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-email") == "" {
		t.Errorf("bad address: %d", res.StatusCode)
	}
	if v := doc.Find(`[data-testid="staff-invite-email"]`).AttrOr("value", ""); v != "not an address" {
		t.Errorf("input not kept: %q", v)
	}
	res, _ = p.submit(admin, "/admin/staff", "/admin/staff", url.Values{"email": {"new.support@acme.test"}, "name": {"Nia New"}, "role": {"support"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("invite: %d", res.StatusCode)
	}
	if link := p.linkIn("new.support@acme.test", "staff_invitation", "/admin/password/"); link == "" {
		t.Fatal("no set-password link mailed")
	}
	res, _ = p.submit(admin, "/admin/staff", "/admin/staff/role", url.Values{"email": {"ops@acme.test"}, "role": {"support_admin"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("role change: %d", res.StatusCode)
	}
	_, doc = p.get(admin, "/admin/staff")
	if got := doc.Find(`[data-testid="staff-row"][data-email="ops@acme.test"] [data-testid="staff-role"] option[selected]`).AttrOr("value", ""); got != "support_admin" {
		t.Errorf("ops@ is %q", got)
	}
	if n := countRows(t, p, `SELECT count(*) FROM audit_entry WHERE action = 'staff.role' AND target_id = 'ops@acme.test'`); n != 1 {
		t.Errorf("role change audited %d times", n)
	}
	if res, _ := p.submit(admin, "/admin/staff", "/admin/staff/role", url.Values{"email": {"admin@acme.test"}, "role": {"support"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an admin demotes themself: %d", res.StatusCode)
	}
	// ops@ is a support admin now: the console sends them to enrol first.
	ops := newClient()
	p.submit(ops, "/admin/login", "/admin/login", url.Values{"email": {"ops@acme.test"}, "password": {store.DemoPassword}})
	if res, _ := p.get(ops, "/admin"); res.Header.Get("Location") != "/admin/two-factor" {
		t.Errorf("a support admin without two-factor: → %s", res.Header.Get("Location"))
	}
}

// Checkout says what the seats typed cost a month before the buyer pays;
// its seats box asks again as the number changes.
func TestCheckoutShowsTheMonthsTotalForTheSeatsTyped(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := newClient()
	link, _ := p.signUpAndVerify(c, "buyer@kramerica.test", "team")
	p.submit(c, link, link, url.Values{})
	process(t, b)
	for seats, want := range map[string]string{
		"":     "Total: $12.00 per month for 1 seat",
		"4":    "Total: $48.00 per month for 4 seats",
		"0":    "",
		"1001": "",
		"x":    "",
	} {
		_, doc := p.get(c, "/billing/checkout?plan=team&seats="+url.QueryEscape(seats))
		got := strings.Join(strings.Fields(doc.Find(`[data-testid="checkout-total"]`).Text()), " ")
		if (want == "" && got != "") || !strings.HasPrefix(got, want) {
			t.Errorf("seats %q: total %q, want %q", seats, got, want)
		}
	}
	_, doc := p.get(c, "/billing/checkout?plan=team")
	if seats := doc.Find(`[data-testid="checkout-seats"]`); seats.AttrOr("hx-get", "") != "/billing/checkout" || seats.AttrOr("hx-select", "") != "#checkout-total" {
		t.Error("the seats box does not ask for the total again as it changes")
	}
}
