package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// upload posts an activation request file from the devices page and
// returns the answer with its page.
func (p *portal) upload(c *http.Client, token, file string) (*http.Response, *goquery.Document) {
	p.t.Helper()
	body, contentType := multipartBody(token, nil, file)
	res, err := c.Post(p.srv.URL+"/devices/activate", contentType, body)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	return res, doc
}

func activationRequest(t *testing.T, fingerprint, user, nonce string) string {
	t.Helper()
	data, err := licensing.NewActivationRequest(fingerprint, "lab-"+fingerprint, "linux", user, nonce, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func rows(doc *goquery.Document, testid string) []string {
	var out []string
	doc.Find(`[data-testid="` + testid + `"]`).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
	return out
}

func TestAdminSeesDevicesAndLeasesAndFreesThem(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	ctx := context.Background()
	owner := storetest.Principal(t, p.store, "owner@globex.test")
	app := store.SystemActor("desktop app")
	for _, m := range []struct{ fp, user string }{{"a-1", "alice@globex.test"}, {"b-1", "bob@globex.test"}} {
		if _, _, err := p.store.ActivateMachine(ctx, app, owner.AccountID, store.MachineRequest{Fingerprint: m.fp, Name: "ws-" + m.fp, User: m.user}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.store.CheckOutLease(ctx, owner.AccountID, store.LeaseRequest{Feature: "desktop_floating", User: "carol@globex.test", Machine: "ws-c"}); err != nil {
		t.Fatal(err)
	}

	c := p.login("owner@globex.test")
	_, doc := p.get(c, "/devices")
	if got := rows(doc, "machine-name"); strings.Join(got, ",") != "ws-b-1,ws-a-1" && strings.Join(got, ",") != "ws-a-1,ws-b-1" {
		t.Fatalf("owner sees machines %v", got)
	}
	if got := rows(doc, "lease-user"); len(got) != 1 || got[0] != "carol@globex.test" || text(doc, "lease-machine") != "ws-c" {
		t.Fatalf("owner sees leases %v", got)
	}
	if text(doc, "pool-peak") != "1" || text(doc, "pool-denials") != "0" || !strings.Contains(text(doc, "pool-usage"), "pool of 3, 1 in use now") {
		t.Fatalf("pool usage: %q", text(doc, "pool-usage"))
	}
	// Force release, answered with a redirect and a flash.
	form := doc.Find(`[data-testid="lease-row"] form`)
	action, _ := form.Attr("action")
	res, _ := p.post(c, action, url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/devices" {
		t.Fatalf("force release: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, doc = p.get(c, "/devices")
	if !strings.Contains(text(doc, "flash"), "Licence released") && !strings.Contains(doc.Find(".flash").Text(), "Licence released") {
		t.Errorf("no flash after the release: %q", doc.Find(".flash").Text())
	}
	if doc.Find(`[data-testid="lease-row"]`).Length() != 0 || text(doc, "no-leases") == "" {
		t.Fatal("the released lease is still listed")
	}
	var audited int
	if err := p.store.DB().Get(&audited, `SELECT count(*) FROM audit_entry WHERE action = 'lease.force_release' AND actor_label = 'owner@globex.test'`); err != nil || audited != 1 {
		t.Fatalf("force release audited %d times (%v)", audited, err)
	}
	// The live part alone, for htmx polling.
	req, _ := http.NewRequest("GET", p.srv.URL+"/devices", nil)
	req.Header.Set("HX-Request", "true")
	hres, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hres.Body)
	hres.Body.Close()
	if !strings.Contains(string(body), `id="devices-live"`) || strings.Contains(string(body), "<html") {
		t.Fatalf("the htmx poll is not the live fragment: %.200s", body)
	}
}

func TestMembersSeeAndDeactivateOnlyTheirOwnMachines(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	ctx := context.Background()
	globex := storetest.Principal(t, p.store, "alice@globex.test").AccountID
	var ids []string
	for _, m := range []struct{ fp, user string }{{"a-1", "alice@globex.test"}, {"b-1", "bob@globex.test"}} {
		mach, _, err := p.store.ActivateMachine(ctx, store.SystemActor("app"), globex, store.MachineRequest{Fingerprint: m.fp, Name: "ws-" + m.fp, User: m.user})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, mach.PublicID)
	}
	if _, err := p.store.CheckOutLease(ctx, globex, store.LeaseRequest{Feature: "desktop_floating", User: "alice@globex.test"}); err != nil {
		t.Fatal(err)
	}
	c := p.login("alice@globex.test")
	_, doc := p.get(c, "/devices")
	if got := rows(doc, "machine-name"); len(got) != 1 || got[0] != "ws-a-1" {
		t.Fatalf("alice sees %v, want only her machine", got)
	}
	if doc.Find(`[data-testid="leases"], [data-testid="activation-form"], [data-testid="machine-user"]`).Length() != 0 {
		t.Fatal("a member sees the account's leases or the admin tools")
	}
	token := csrfToken(doc)
	if res, _ := p.post(c, "/devices/machines/"+ids[1]+"/deactivate", url.Values{"_csrf": {token}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("alice deactivates bob's machine: %d", res.StatusCode)
	}
	if res, _ := p.post(c, "/devices/machines/"+ids[0]+"/deactivate", url.Values{"_csrf": {token}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice deactivates her machine: %d", res.StatusCode)
	}
	_, doc = p.get(c, "/devices")
	if text(doc, "no-machines") == "" || !strings.Contains(doc.Find(".flash").Text(), "Machine deactivated") {
		t.Fatalf("after deactivating: %q / %q", text(doc, "no-machines"), doc.Find(".flash").Text())
	}
	if res, _ := p.get(c, "/devices/machines/"+ids[1]+"/licence"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a member downloads a machine licence: %d", res.StatusCode)
	}
}

func TestAirGappedActivationRoundTrip(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("admin@globex.test")
	_, doc := p.get(c, "/devices")
	token := csrfToken(doc)

	res, _ := p.upload(c, token, activationRequest(t, "air-1", "alice@globex.test", "nonce-7f3a9c21"))
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/devices?activated=mach_") {
		t.Fatalf("upload: %d → %s", res.StatusCode, loc)
	}
	_, doc = p.get(c, loc)
	href, ok := doc.Find(`[data-testid="download-machine-licence"]`).Attr("href")
	if !ok || !strings.Contains(text(doc, "activated-machine"), "lab-air-1 is activated") {
		t.Fatalf("no licence to download after the upload: %q", text(doc, "activated-machine"))
	}
	lres, err := c.Get(p.srv.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := io.ReadAll(lres.Body)
	lres.Body.Close()
	if lres.StatusCode != http.StatusOK || !strings.Contains(lres.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("licence download: %d %s", lres.StatusCode, lres.Header)
	}
	infos, err := p.store.PublicKeys(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := licensing.MarshalKeyRing(infos)
	keys, _ := licensing.ParseKeyRing(data)
	l, err := licensing.VerifyMachineLicence(file, keys, "air-1", time.Now())
	if err != nil || l.Machine.Nonce != "nonce-7f3a9c21" {
		t.Fatalf("the machine licence from the portal: %v (%+v)", err, l)
	}
	if _, err := licensing.VerifyMachineLicence(file, keys, "air-2", time.Now()); err == nil {
		t.Fatal("the machine licence verifies on another machine")
	}

	// Refusals are shown beside the upload field.
	for name, c2 := range map[string]struct{ file, want string }{
		"not a request":  {`{"hello":"world"}`, "not an activation request"},
		"no fingerprint": {strings.Replace(activationRequest(t, "x", "alice@globex.test", "nonce-12345678"), `"fingerprint": "x"`, `"fingerprint": ""`, 1), "fingerprint"},
		"over the limit": {activationRequest(t, "air-3", "alice@globex.test", "nonce-12345678"), "2 machines per seat holder"},
	} {
		if name == "over the limit" {
			p.upload(c, token, activationRequest(t, "air-2", "alice@globex.test", "nonce-12345678"))
		}
		res, doc := p.upload(c, token, c2.file)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(strings.ToLower(text(doc, "activation-error")), strings.ToLower(c2.want)) {
			t.Errorf("%s: %d %q, want 422 naming %q", name, res.StatusCode, text(doc, "activation-error"), c2.want)
		}
	}
}
