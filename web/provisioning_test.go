package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// pushPeople has the identity provider create people and a group of them.
func pushPeople(t *testing.T, p *scimPortal, group string, emails ...string) string {
	t.Helper()
	var members []string
	for _, e := range emails {
		id := p.idp.do(http.MethodPost, "/Users", `{"userName":"`+e+`","displayName":"`+strings.Split(e, "@")[0]+`"}`).
			ok(t, http.StatusCreated).str("id")
		members = append(members, `{"value":"`+id+`"}`)
	}
	return p.idp.do(http.MethodPost, "/Groups", `{"displayName":"`+group+`","members":[`+strings.Join(members, ",")+`]}`).
		ok(t, http.StatusCreated).str("id")
}

func attrs(doc *goquery.Document, sel, attr string) []string {
	var out []string
	doc.Find(sel).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr(attr)
		out = append(out, v)
	})
	return out
}

// TestAdminPreviewsAndSavesARule: an owner makes a SCIM token (shown
// once), previews a rule (who gains a seat, who waits; nothing changes
// yet), saves it, and sees seats and the waiting list on the seats page.
func TestAdminPreviewsAndSavesARule(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	c, csrf := p.session("admin@globex.test")

	res, doc := p.post(c, "/settings/provisioning/tokens", url.Values{"_csrf": {csrf}, "name": {"Okta"}})
	token := text(doc, "new-scim-token")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(token, "scim_") {
		t.Fatalf("token: %d %q", res.StatusCode, token)
	}
	if _, doc := p.get(c, "/settings/provisioning"); strings.Contains(doc.Text(), token) || doc.Find(`[data-testid="scim-token"]`).Length() != 2 {
		t.Error("the token shows again, or is not listed")
	}
	p.idp.token = token
	gid := pushPeople(t, p, "Engineering", "ann@globex.test", "ben@globex.test", "cat@globex.test", "dan@globex.test", "eve@globex.test")
	_ = gid
	settle(t, p.store, p.reconciler, p.globex)

	_, doc = p.get(c, "/settings/provisioning")
	groupID, _ := doc.Find(`[data-testid="rule-group"] option`).First().Attr("value")
	if text(doc, "provisioned-count") != "5" || groupID == "" {
		t.Fatalf("settings page: provisioned %q, group %q", text(doc, "provisioned-count"), groupID)
	}
	form := url.Values{"_csrf": {csrf}, "op": {"add"}, "group": {groupID}, "role": {"member"}, "product": {"analytics"}, "priority": {"10"}}
	res, doc = p.post(c, "/settings/provisioning/rules/preview", form)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d %s", res.StatusCode, text(doc, "error-message"))
	}
	gains, waits := attrs(doc, `[data-testid="effect-gain"]`, "data-email"), attrs(doc, `[data-testid="effect-wait"]`, "data-email")
	if strings.Join(gains, ",") != "ann@globex.test,ben@globex.test,cat@globex.test" || strings.Join(waits, ",") != "dan@globex.test,eve@globex.test" {
		t.Fatalf("preview gains %v, waits %v", gains, waits)
	}
	if seats, waiting := seatsAndWaiting(t, p.store, p.globex); seats != 0 || waiting != 0 {
		t.Fatalf("the preview changed the database: %d seats, %d waiting", seats, waiting)
	}
	save := url.Values{"_csrf": {csrf}}
	doc.Find(`[data-testid="rule-effect"] form input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		if name != "_csrf" {
			save.Set(name, value)
		}
	})
	res, doc = p.postAndFollow(c, "/settings/provisioning/rules", save)
	if res.StatusCode != http.StatusOK || !strings.Contains(text(doc, "flash"), "3 seats given") {
		t.Fatalf("save: %d %q", res.StatusCode, text(doc, "flash"))
	}
	if got := text(doc, "rule-seats"); got != "3" {
		t.Errorf("the rule holds %q seats", got)
	}

	_, doc = p.get(c, "/seats")
	pool := doc.Find(`[data-testid="seat-pool"]`)
	if got := attrs(doc, `[data-testid="waiting-row"]`, "data-email"); strings.Join(got, ",") != "dan@globex.test,eve@globex.test" {
		t.Errorf("waiting list %v", got)
	}
	ann := pool.Find(`[data-testid="holder-row"][data-email="ann@globex.test"]`)
	if !strings.Contains(ann.Find(`[data-testid="holder-origin"]`).Text(), "by rule: Engineering") || ann.Find(`[data-testid="managed"]`).Length() != 1 {
		t.Errorf("ann's row: %q", ann.Text())
	}
	// The page polls: unchanged is a 204; a change brings the pools.
	version, _ := doc.Find(`[data-testid="seat-pools"]`).Attr("data-version")
	if res, _ := p.get(c, "/seats/live?v="+version); res.StatusCode != http.StatusNoContent {
		t.Errorf("poll without a change: %d", res.StatusCode)
	}

	// Pinning ann's seat: the rules never take it, even when she leaves
	// the group; unpinning hands it back to the rules.
	sub, _ := pool.Attr("data-subscription")
	var annID int64
	if err := p.store.DB().Get(&annID, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = 'ann@globex.test'`); err != nil {
		t.Fatal(err)
	}
	res, doc = p.postAndFollow(c, "/seats/pin", url.Values{"_csrf": {csrf}, "subscription": {sub}, "pin": {fmt.Sprint(annID) + ":true"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(text(doc, "flash"), "pinned") {
		t.Fatalf("pin: %d %q", res.StatusCode, text(doc, "flash"))
	}
	annSCIM := p.idp.get("/Users?filter="+url.QueryEscape(`userName eq "ann@globex.test"`)).str("Resources", 0, "id")
	gidNow := p.idp.get("/Groups?filter="+url.QueryEscape(`displayName eq "Engineering"`)).str("Resources", 0, "id")
	p.idp.do(http.MethodPatch, "/Groups/"+gidNow, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"remove","path":"members[value eq \"`+annSCIM+`\"]"}]}`).ok(t, http.StatusNoContent)
	settle(t, p.store, p.reconciler, p.globex)
	res, doc = p.get(c, "/seats/live?v="+version)
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="holder-row"][data-email="ann@globex.test"] [data-testid="holder-origin"][data-pinned="true"]`).Length() != 1 {
		t.Fatalf("the pinned seat after leaving the group: %d", res.StatusCode)
	}
	p.post(c, "/seats/pin", url.Values{"_csrf": {csrf}, "subscription": {sub}, "pin": {fmt.Sprint(annID) + ":false"}})
	settle(t, p.store, p.reconciler, p.globex)
	_, doc = p.get(c, "/seats")
	if doc.Find(`[data-testid="holder-row"][data-email="ann@globex.test"]`).Length() != 0 ||
		doc.Find(`[data-testid="holder-row"][data-email="dan@globex.test"]`).Length() != 1 {
		t.Error("unpinned, ann's seat did not go back to the rules (and to dan, first in line)")
	}

	// Managed members: no role change or removal from the portal.
	var benID int64
	_ = p.store.DB().Get(&benID, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = 'ben@globex.test'`)
	for _, path := range []string{"/members/" + fmt.Sprint(benID) + "/remove", "/members/" + fmt.Sprint(benID) + "/role"} {
		if res, _ := p.post(c, path, url.Values{"_csrf": {csrf}, "role": {"admin"}}); res.StatusCode != http.StatusConflict {
			t.Errorf("%s on a managed member: %d, want 409", path, res.StatusCode)
		}
	}
}

// TestUnmatchedPolicyPreviewAndSave: "not admitted" dismisses provisioned
// people no rule matches, after a preview that names them.
func TestUnmatchedPolicyPreviewAndSave(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	p.idp.do(http.MethodPost, "/Users", `{"userName":"loner@globex.test"}`).ok(t, http.StatusCreated)
	c, csrf := p.session("owner@globex.test")
	form := url.Values{"_csrf": {csrf}, "op": {"unmatched"}, "unmatched": {"deny"}}
	_, doc := p.post(c, "/settings/provisioning/rules/preview", form)
	if got := attrs(doc, `[data-testid="effect-standing-row"]`, "data-email"); strings.Join(got, ",") != "loner@globex.test" {
		t.Fatalf("preview standing: %v", got)
	}
	p.post(c, "/settings/provisioning/rules", form)
	var status string
	_ = p.store.DB().Get(&status, `SELECT m.status FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = 'loner@globex.test'`)
	if status != "deactivated" {
		t.Errorf("loner is %s", status)
	}
	if _, doc := p.get(c, "/settings/provisioning"); doc.Find(`[data-testid="unmatched"] option[value="deny"][selected]`).Length() != 1 {
		t.Error("the policy is not shown as saved")
	}
}

// TestSeatReductionPreviewNamesWhoWaits: before seats are dropped at
// period end, the billing page names who moves to the waiting list,
// lowest priority first.
func TestSeatReductionPreviewNamesWhoWaits(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	gid := pushPeople(t, p, "Engineering", "ann@globex.test", "ben@globex.test", "cat@globex.test")
	addRule(t, p.store, "globex", "owner@globex.test", groupRowID(t, p.store, gid), "member", 10)
	if seats, _ := seatsAndWaiting(t, p.store, p.globex); seats != 3 {
		t.Fatalf("%d rule seats", seats)
	}
	c := p.login("owner@globex.test")
	res, doc := p.get(c, "/billing/seats?seats=8")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d %s", res.StatusCode, text(doc, "error-message"))
	}
	if got := attrs(doc, `[data-testid="waitlisted-person"]`, "data-email"); strings.Join(got, ",") != "cat@globex.test,ben@globex.test" {
		t.Errorf("waitlisted %v, want cat then ben (lowest priority first)", got)
	}
	if doc.Find(`[data-testid="seats-to-free"]`).Length() != 0 {
		t.Error("seats given by hand still fit, yet the page asks to free some")
	}
}
