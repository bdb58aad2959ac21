package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// billingPlans lists the plan columns of /billing, a pilot marked with "!".
func billingPlans(doc *goquery.Document) string {
	var plans []string
	doc.Find(`[data-testid="plan-column"]`).Each(func(_ int, s *goquery.Selection) {
		key, _ := s.Attr("data-plan")
		if s.Find(`[data-testid="pilot-badge"]`).Length() > 0 {
			key += "!"
		}
		plans = append(plans, key)
	})
	return strings.Join(plans, " ")
}

func TestPilotPlanIsOfferedOnlyToTheAccountsAnOperatorListed(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	globex, umbrella := p.login("owner@globex.test"), p.login("owner@umbrella.test")

	// Before anyone is listed, nobody sees the pilot, and a crafted POST
	// (the plan key typed into a form) is refused with nothing started.
	for who, c := range map[string]*http.Client{"globex": globex, "umbrella": umbrella} {
		_, doc := p.get(c, "/billing")
		if got := billingPlans(doc); strings.Contains(got, "scale") {
			t.Fatalf("%s sees the pilot before being listed: %s", who, got)
		}
		for _, path := range []string{"/billing/change", "/billing/trial"} {
			res, _ := p.post(c, path, url.Values{"_csrf": {csrfToken(doc)}, "plan": {"scale"}})
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: crafted POST %s plan=scale → %d, want 422", who, path, res.StatusCode)
			}
		}
		if res, _ := p.get(c, "/billing/change?plan=scale"); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: preview of the pilot → %d, want 422", who, res.StatusCode)
		}
	}
	if pending, _, _ := p.store.PendingStripeEvents(context.Background(), accountIDOf(t, p.store, "globex")); pending != 0 {
		t.Fatalf("a refused pilot purchase left %d events", pending)
	}

	// An operator lists Globex in the console.
	ops := p.staffLogin("ops@acme.test")
	_, page := p.get(ops, "/admin/accounts/globex")
	row := page.Find(`[data-testid="admin-pilot"][data-plan="scale"]`)
	if row.Length() != 1 || row.AttrOr("data-listed", "") != "false" {
		t.Fatalf("the console does not show the pilot for Globex: %d rows", row.Length())
	}
	res, _ := p.post(ops, "/admin/accounts/globex/pilots", url.Values{"_csrf": {csrfToken(page)}, "product": {"analytics"}, "plan": {"scale"}, "listed": {"true"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding Globex to the pilot: %d", res.StatusCode)
	}
	_, page = p.get(ops, "/admin/accounts/globex")
	if page.Find(`[data-testid="admin-pilot"][data-plan="scale"]`).AttrOr("data-listed", "") != "true" || !strings.Contains(page.Text(), "Added to the pilot") {
		t.Fatal("the console does not show Globex on the pilot after adding it")
	}
	// Support staff may look but not list.
	support := p.staffLogin("support@acme.test")
	if res, _ := p.post(support, "/admin/accounts/umbrella/pilots", url.Values{"_csrf": {csrfToken(page)}, "product": {"analytics"}, "plan": {"scale"}, "listed": {"true"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("support listing an account: %d, want 403", res.StatusCode)
	}

	// Globex sees it marked as a pilot and buys it; Umbrella still cannot.
	_, doc := p.get(globex, "/billing")
	if got := billingPlans(doc); got != "free team business enterprise scale!" {
		t.Fatalf("Globex's plans = %s", got)
	}
	res, _ = p.post(globex, "/billing/change", url.Values{"_csrf": {csrfToken(doc)}, "plan": {"scale"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("Globex buying the pilot: %d", res.StatusCode)
	}
	process(t, b)
	_, doc = p.get(globex, "/billing")
	if got := doc.Find(`[data-testid="billing-plan"]`).AttrOr("data-plan", ""); got != "scale" {
		t.Fatalf("Globex is on %q after buying the pilot", got)
	}
	_, doc = p.get(umbrella, "/billing")
	if got := billingPlans(doc); strings.Contains(got, "scale") {
		t.Errorf("Umbrella sees the pilot: %s", got)
	}
	if res, _ := p.post(umbrella, "/billing/change", url.Values{"_csrf": {csrfToken(doc)}, "plan": {"scale"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("Umbrella's crafted POST after Globex was listed: %d", res.StatusCode)
	}

	// Taken off the list, Globex keeps the plan it bought.
	_, page = p.get(ops, "/admin/accounts/globex")
	p.post(ops, "/admin/accounts/globex/pilots", url.Values{"_csrf": {csrfToken(page)}, "product": {"analytics"}, "plan": {"scale"}, "listed": {"false"}})
	_, doc = p.get(globex, "/billing")
	if got := doc.Find(`[data-testid="billing-plan"]`).AttrOr("data-plan", ""); got != "scale" || !strings.Contains(billingPlans(doc), "scale!") {
		t.Errorf("after leaving the pilot Globex is on %q, sees %s", got, billingPlans(doc))
	}
	var audited int
	p.store.DB().Get(&audited, `SELECT count(*) FROM audit_entry WHERE action IN ('plan.pilot_add', 'plan.pilot_remove')`)
	if audited != 2 {
		t.Errorf("%d pilot list changes audited, want 2", audited)
	}
}

func accountIDOf(t *testing.T, s *store.Store, slug string) int64 {
	t.Helper()
	a, err := s.AccountBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// regionalCatalog is the demo catalog with dashboards denied in Cuba, SSO
// export-controlled for Iran and the enterprise plan sold in the US and
// Germany only.
func regionalCatalog(t *testing.T, s *store.Store) {
	t.Helper()
	cat := string(store.DemoCatalog())
	cat = strings.Replace(cat, "      - key: dashboards\n        name: Dashboards\n        kind: boolean\n",
		"      - key: dashboards\n        name: Dashboards\n        kind: boolean\n        regions: {deny: [CU]}\n", 1)
	cat = strings.Replace(cat, "        rank: 3\n", "        rank: 3\n        regions: {allow: [US, DE]}\n", 1)
	cat += "export_controls:\n  - {product: analytics, countries: [IR], features: [sso]}\n"
	parsed, err := store.ParseCatalog([]byte(cat))
	if err != nil {
		t.Fatal(err)
	}
	products, err := parsed.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyCatalog(context.Background(), store.SystemActor("test"), products); err != nil {
		t.Fatal(err)
	}
}

func TestOperatorSetsACountryAndTheRegionalRulesFollow(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	regionalCatalog(t, p.store)
	ops := p.staffLogin("ops@acme.test")
	_, page := p.get(ops, "/admin/accounts/globex")
	if got := text(page, "admin-country"); got != "—" {
		t.Fatalf("Globex's country before = %q", got)
	}
	// A country that is not a code is refused beside the field, input kept.
	res, page := p.post(ops, "/admin/accounts/globex/country", url.Values{"_csrf": {csrfToken(page)}, "country": {"Cuba"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(page, "country-error"), "two-letter") ||
		page.Find(`[data-testid="country-input"]`).AttrOr("value", "") != "Cuba" {
		t.Fatalf("invalid country: %d %q", res.StatusCode, text(page, "country-error"))
	}
	if res, _ := p.post(ops, "/admin/accounts/globex/country", url.Values{"_csrf": {csrfToken(page)}, "country": {"cu"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the country: %d", res.StatusCode)
	}
	_, page = p.get(ops, "/admin/accounts/globex")
	if got := text(page, "admin-country"); got != "CU" {
		t.Fatalf("Globex's country after = %q, want CU", got)
	}

	// The portal says so, and billing neither offers nor sells the plan.
	owner := p.login("owner@globex.test")
	_, doc := p.get(owner, "/")
	row := doc.Find(`[data-testid="entitlement-row"][data-feature="dashboards"]`)
	if reason := row.Find(`[data-testid="feature-access"]`).AttrOr("data-reason", ""); reason != "region_restricted" ||
		!strings.Contains(row.Text(), "Not available in your region") {
		t.Errorf("dashboards on the overview: %q %q", reason, strings.TrimSpace(row.Text()))
	}
	_, doc = p.get(owner, "/billing")
	if doc.Find(`[data-testid="region-restricted-enterprise"]`).Length() != 1 || doc.Find(`[data-testid="choose-enterprise"]`).Length() != 0 {
		t.Error("/billing offers enterprise in Cuba")
	}
	if res, _ := p.post(owner, "/billing/change", url.Values{"_csrf": {csrfToken(doc)}, "plan": {"enterprise"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("crafted POST for enterprise from Cuba: %d, want 422", res.StatusCode)
	}
	if res, _ := p.get(owner, "/billing/change?plan=business"); res.StatusCode != http.StatusOK {
		t.Errorf("business (no regional rule) from Cuba: %d, want the preview", res.StatusCode)
	}
}

func TestRegionDenialThroughTheAPIAndTheOfflineLicence(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	regionalCatalog(t, a.store)
	ctx := context.Background()
	// Globex gets an SSO grant, then is placed in Iran: the export control
	// wins over the grant.
	if _, err := a.store.CreateGrant(ctx, store.SystemActor("test"), "globex", store.GrantInput{Kind: "feature",
		ProductKey: "analytics", FeatureKey: "sso", Enabled: true, Reason: "pilot customer", ExpiresAt: time.Now().AddDate(0, 1, 0)}); err != nil {
		t.Fatal(err)
	}
	key := a.newKey("globex")
	check := func(feature string) checkAnswer {
		return a.get("/api/v1/accounts/globex/entitlements/"+feature, key).check(t)
	}
	if d := check("sso"); !d.HasAccess {
		t.Fatalf("the SSO grant does not work before the country is set: %+v", d)
	}
	if err := a.store.SetAccountCountry(ctx, store.SystemActor("test"), "globex", "IR"); err != nil {
		t.Fatal(err)
	}
	want := map[string]licensing.Reason{"sso": licensing.ReasonRegionRestricted, "dashboards": licensing.ReasonOK, "exports": licensing.ReasonNotInPlan}
	deadline := time.Now().Add(10 * time.Second)
	for check("sso").Reason != licensing.ReasonRegionRestricted && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // the cache hears of the change through NOTIFY
	}
	for feature, reason := range want {
		if d := check(feature); d.Reason != reason || d.HasAccess != (reason == licensing.ReasonOK) {
			t.Errorf("online %s in Iran: %+v, want %s", feature, d.Decision, reason)
		}
	}
	if err := a.store.SetAccountCountry(ctx, store.SystemActor("test"), "globex", "CU"); err != nil {
		t.Fatal(err)
	}
	for check("dashboards").Reason != licensing.ReasonRegionRestricted && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	want = map[string]licensing.Reason{"sso": licensing.ReasonOK, "dashboards": licensing.ReasonRegionRestricted}
	for feature, reason := range want {
		if d := check(feature); d.Reason != reason {
			t.Errorf("online %s in Cuba: %+v, want %s", feature, d.Decision, reason)
		}
	}

	// The offline licence carries the country and the rules, and decides
	// the same with nothing but the file and the public keys.
	ring, err := licensing.ParseKeyRing(a.get("/api/v1/keys", "").body)
	if err != nil {
		t.Fatal(err)
	}
	res := a.get("/api/v1/accounts/globex/license", key)
	lic, err := licensing.VerifyLicence(res.body, ring, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if lic.State.Country != "CU" {
		t.Errorf("the licence carries country %q, want CU", lic.State.Country)
	}
	for _, feature := range []string{"dashboards", "sso", "exports", "api_calls"} {
		offline, err := lic.Check(feature, "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		online := check(feature)
		if offline.Decision.Reason != online.Reason || offline.Decision.HasAccess != online.HasAccess {
			t.Errorf("%s: offline %s, online %s", feature, offline.Decision.Reason, online.Reason)
		}
	}
	if d, _ := lic.Check("dashboards", "", time.Now()); d.Decision.Reason != licensing.ReasonRegionRestricted {
		t.Errorf("offline dashboards in Cuba: %s", d.Decision.Reason)
	}
}

func TestOperatorExtendsATrialFromTheConsole(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	trialEnd := func() time.Time {
		t.Helper()
		var end time.Time
		if err := p.store.DB().Get(&end, `SELECT s.trial_ends_at FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = 'initech'`); err != nil {
			t.Fatal(err)
		}
		return end
	}
	before := trialEnd()
	ops := p.staffLogin("ops@acme.test")
	_, page := p.get(ops, "/admin/accounts/initech")
	if page.Find(`[data-testid="trial-form"]`).Length() != 1 || !strings.Contains(text(page, "admin-trial-ends"), "Trial ends") {
		t.Fatal("the console offers no trial extension for trialing Initech")
	}
	// Refused beside the fields, with the input kept.
	res, page := p.post(ops, "/admin/accounts/initech/trial", url.Values{"_csrf": {csrfToken(page)}, "days": {"400"}, "reason": {""}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(page, "trial-days-error"), "1 to 90") ||
		page.Find(`[data-testid="trial-days"]`).AttrOr("value", "") != "400" {
		t.Fatalf("400 days: %d %q", res.StatusCode, text(page, "trial-days-error"))
	}
	res, page = p.post(ops, "/admin/accounts/initech/trial", url.Values{"_csrf": {csrfToken(page)}, "days": {"7"}, "reason": {" "}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(page, "trial-reason-error"), "say why") {
		t.Fatalf("no reason: %d %q", res.StatusCode, text(page, "trial-reason-error"))
	}
	support := p.staffLogin("support@acme.test")
	if res, _ := p.post(support, "/admin/accounts/initech/trial", url.Values{"_csrf": {csrfToken(page)}, "days": {"7"}, "reason": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("support extending a trial: %d, want 403", res.StatusCode)
	}
	res, _ = p.post(ops, "/admin/accounts/initech/trial", url.Values{"_csrf": {csrfToken(page)}, "days": {"7"}, "reason": {"TICKET-42: evaluation runs late"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("extending: %d", res.StatusCode)
	}
	process(t, b)
	// Stripe's times are whole seconds.
	if after := trialEnd(); !after.Equal(before.Truncate(time.Second).Add(7 * 24 * time.Hour)) {
		t.Fatalf("trial ends %v after extending by 7 days, was %v", after, before)
	}
	var reasons []string
	p.store.DB().Select(&reasons, `SELECT after->>'reason' FROM audit_entry WHERE action = 'billing.trial_extension' AND account_id = $1`,
		accountIDOf(t, p.store, "initech"))
	if len(reasons) != 1 || reasons[0] != "TICKET-42: evaluation runs late" {
		t.Errorf("audited extensions: %v", reasons)
	}
	// An account that is not trialing has nothing to extend.
	_, page = p.get(ops, "/admin/accounts/globex")
	if page.Find(`[data-testid="trial-form"]`).Length() != 0 {
		t.Error("the console offers to extend Globex's trial, which it does not have")
	}
	if res, _ := p.post(ops, "/admin/accounts/globex/trial", url.Values{"_csrf": {csrfToken(page)}, "days": {"7"}, "reason": {"x"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("extending Globex's trial: %d, want 422", res.StatusCode)
	}
}

func TestOperatorPreviewsAndSchedulesAMoveToANewPlanVersion(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	cat, _ := store.ParseCatalog([]byte(strings.Replace(string(store.DemoCatalog()), "api_calls: 50000", "api_calls: 40000", 1)))
	products, err := cat.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.store.ApplyCatalog(context.Background(), store.SystemActor("test"), products); err != nil {
		t.Fatal(err)
	}
	ops := p.staffLogin("ops@acme.test")
	date := time.Now().UTC().AddDate(0, 2, 0).Format("2006-01-02")
	q := url.Values{"preview": {"1"}, "plan": {"analytics/team"}, "to_version": {"2"}, "at": {date}, "notice_days": {"14"}, "exclude": {"umbrella"}}
	res, page := p.get(ops, "/admin/catalog/migrate?"+q.Encode())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d", res.StatusCode)
	}
	globex := page.Find(`[data-testid="migration-row"][data-slug="globex"]`)
	if !strings.Contains(globex.Text(), "API calls: 50,000 → 40,000") || !strings.Contains(page.Find(`[data-testid="migration-row"][data-slug="umbrella"]`).Text(), "excluded") {
		t.Fatalf("preview rows: %q", strings.TrimSpace(page.Find(`[data-testid="migration-rows"]`).Text()))
	}
	form := page.Find(`[data-testid="migration-schedule-form"]`)
	if form.Length() != 1 {
		t.Fatal("no schedule button after a clean preview")
	}
	vals := url.Values{"_csrf": {csrfToken(page)}}
	form.Find(`input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) { vals.Set(s.AttrOr("name", ""), s.AttrOr("value", "")) })
	if res, _ := p.post(ops, "/admin/catalog/migrate", vals); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("schedule: %d", res.StatusCode)
	}
	var waiting []string
	p.store.DB().Select(&waiting, `SELECT a.slug FROM plan_migration_account m JOIN account a ON a.id = m.account_id WHERE m.done_at IS NULL`)
	if strings.Join(waiting, " ") != "globex" {
		t.Fatalf("moves waiting: %v, want globex", waiting)
	}
	// Bad input is answered beside the field, input kept.
	q.Set("at", "soon")
	res, page = p.get(ops, "/admin/catalog/migrate?"+q.Encode())
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(page, "migration-error-at"), "period-end") ||
		page.Find(`[data-testid="migration-at"]`).AttrOr("value", "") != "soon" {
		t.Errorf("a bad date: %d %q", res.StatusCode, text(page, "migration-error-at"))
	}
	// A date too close for the notice is refused whole.
	vals.Set("at", time.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02"))
	vals.Set("exclude", "")
	res, page = p.post(ops, "/admin/catalog/migrate", vals)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(page, "migration-error-at"), "umbrella cannot be given 14 days of notice") {
		t.Errorf("too close: %d %q", res.StatusCode, text(page, "migration-error-at"))
	}
	support := p.staffLogin("support@acme.test")
	if res, _ := p.get(support, "/admin/catalog/migrate"); res.StatusCode != http.StatusForbidden {
		t.Errorf("support opening the move form: %d, want 403", res.StatusCode)
	}
}

func TestPricingShowsAPilotOnlyToASignedInAccountOnItsList(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	if err := p.store.SetPilotAccount(context.Background(), store.SystemActor("test"), "initech", "analytics", "scale", true); err != nil {
		t.Fatal(err)
	}
	pricing := func(c *http.Client) *goquery.Selection {
		t.Helper()
		res, doc := p.get(c, "/pricing")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/pricing: %d", res.StatusCode)
		}
		if doc.Find(`[data-testid="pricing-plan"][data-plan="enterprise"]`).Length() != 1 {
			t.Fatal("/pricing lacks the public plans")
		}
		return doc.Find(`[data-testid="pricing-plan"][data-plan="scale"]`)
	}
	if n := pricing(newClient()).Length(); n != 0 {
		t.Errorf("a visitor sees the pilot on /pricing")
	}
	if n := pricing(p.login("owner@globex.test")).Length(); n != 0 {
		t.Errorf("Globex, not on the pilot's list, sees it on /pricing")
	}
	scale := pricing(p.login("owner@initech.test"))
	if scale.Find(`[data-testid="pricing-pilot"]`).Length() != 1 ||
		scale.Find(`[data-testid="pricing-action-scale"]`).AttrOr("href", "") != "/billing/change?plan=scale" {
		t.Errorf("Initech's /pricing: pilot %d, link %q", scale.Find(`[data-testid="pricing-pilot"]`).Length(),
			scale.Find(`[data-testid="pricing-action-scale"]`).AttrOr("href", ""))
	}
}
