package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// idp is a scripted identity provider: a Go SCIM client with the token the
// admin made in the portal.
type idp struct {
	t     *testing.T
	base  string
	token string
}

func (p idp) send(method, path, body string, want int) map[string]any {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+"/scim/v2"+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		p.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, data)
	}
	var doc map[string]any
	_ = json.Unmarshal(data, &doc)
	return doc
}

// TestIdentityProviderFillsTheSeatsPageWithoutAReload: the admin makes a
// SCIM token and, once the identity provider has pushed its group, a rule
// for it; then the identity provider pushes five people into the group,
// and the seats page the admin keeps open shows three of them holding
// seats and two on the waiting list, by itself.
func TestIdentityProviderFillsTheSeatsPageWithoutAReload(t *testing.T) {
	t.Parallel()
	admin := newSession(t)
	admin.signIn("admin@globex.test")

	admin.run(
		chromedp.Navigate(admin.base+"/settings/provisioning"),
		waitVisible(tid("scim-token-form")),
		typeInto(tid("scim-token-name"), "Okta"),
		press(tid("scim-token-create")),
		waitVisible(tid("new-scim-token")),
	)
	admin.screenshot("token")
	okta := idp{t: t, base: admin.base, token: admin.textOf("new-scim-token")}

	// Okta's Group Push creates the group first, empty.
	group := okta.send(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
		"displayName":"Engineering","members":[]}`, http.StatusCreated)
	gid, _ := group["id"].(string)

	// The admin writes the rule, sees its effect (nobody yet), saves it.
	admin.run(
		chromedp.Navigate(admin.base+"/settings/provisioning"),
		waitVisible(tid("rule-form")),
		setValue(tid("rule-product"), "analytics"),
		setValue(tid("rule-role"), "member"),
		press(tid("rule-preview")),
		waitVisible(tid("rule-effect")),
		waitVisible(tid("effect-none")),
		press(tid("rule-save")),
		waitVisible(tid("flash")),
		waitVisible(`[data-testid="rule-row"][data-group="Engineering"]`),
	)
	admin.screenshot("rule")

	// The admin opens the seats page and keeps it open.
	admin.run(
		chromedp.Navigate(admin.base+"/seats"),
		waitVisible(tid("seat-pool")),
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`),
	)
	if got := admin.textOf("pool-free"); got != "3" {
		t.Fatalf("free seats before = %s", got)
	}

	// Okta creates five people and adds them to the group in one PATCH.
	var members []string
	for i, name := range []string{"Ann", "Ben", "Cat", "Dan", "Eve"} {
		email := strings.ToLower(name) + "@globex.test"
		u := okta.send(http.MethodPost, "/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":%q,"name":{"givenName":%q,"familyName":"Okta"},"emails":[{"primary":true,"value":%q,"type":"work"}],
			"displayName":"%s Okta","externalId":"00u%d","active":true}`, email, name, email, name, i), http.StatusCreated)
		members = append(members, fmt.Sprintf(`{"value":%q,"display":%q}`, u["id"], email))
	}
	okta.send(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"add","path":"members","value":[`+strings.Join(members, ",")+`]}]}`, http.StatusNoContent)

	// The page shows them without a reload: three holders by rule, two waiting.
	admin.waitFor(`document.querySelectorAll('[data-testid="waiting-row"]').length === 2`)
	admin.waitFor(`['ann','ben','cat'].every(n => document.querySelector('[data-testid="holder-row"][data-email="' + n + '@globex.test"] [data-testid="holder-origin"]')?.textContent.includes('by rule: Engineering'))`)
	waiting := get(admin, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="waiting-row"]')].map(r => r.dataset.email)`))
	if strings.Join(waiting, ",") != "dan@globex.test,eve@globex.test" {
		t.Errorf("waiting list = %v", waiting)
	}
	if got := admin.textOf("pool-free"); got != "0" {
		t.Errorf("free seats after = %s", got)
	}
	if !get(admin, chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Error("the page was reloaded")
	}
	admin.screenshot("seats")

	// Okta deactivates Ann: her seat goes to Dan, first in line.
	ann := okta.send(http.MethodGet, `/Users?filter=userName%20eq%20%22ann%40globex.test%22`, "", http.StatusOK)
	annID, _ := ann["Resources"].([]any)[0].(map[string]any)["id"].(string)
	okta.send(http.MethodPatch, "/Users/"+annID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"active":false}}]}`, http.StatusOK)
	admin.waitFor(`!!document.querySelector('[data-testid="holder-row"][data-email="dan@globex.test"]') && !document.querySelector('[data-testid="holder-row"][data-email="ann@globex.test"]')`)
	admin.waitFor(`[...document.querySelectorAll('[data-testid="waiting-row"]')].map(r => r.dataset.email).join() === "eve@globex.test"`)
	admin.screenshot("deprovisioned")
}
