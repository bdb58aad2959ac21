// Package views holds Entitle's templ layouts, pages and htmx partials.
// Views only display: handlers hand them plain view models (defined here)
// and licensing types, never store rows, so no page can run a query.
package views

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// Shell is what the layout needs on every page.
type Shell struct {
	Title   string
	Active  string // nav item to mark: overview, members, seats, billing, audit
	CSRF    string
	User    *User // nil on public pages
	Flash   string
	Notice  Notice // the outcome of the last form post (handlers.takeFlash)
	Banners []Banner
	// Impersonation is set while vendor support acts as the account
	// (a support session): every page then carries its banner.
	Impersonation *ImpersonationBanner
}

// User is the signed-in person as the layout shows them.
type User struct {
	Email       string
	Name        string
	Role        string
	AccountName string
	AccountSlug string
	// Accounts lists every account the person may switch to (the switcher
	// shows when there are two or more).
	Accounts []AccountChoice
}

// AccountChoice is one account of the switcher.
type AccountChoice struct {
	Slug, Name, Role string
}

// Banner is an account-wide notice (past due, over-allocated, ...).
type Banner struct {
	Kind    string // info, warn, danger
	TestID  string
	Message string
	// Link, when set, is where the person fixes what the banner says
	// (LinkLabel names it).
	Link, LinkLabel string
}

// NavItem is one link of the portal's navigation. Action, when set, is what
// the signed-in member's role must allow for the link to show.
type NavItem struct {
	Key, Label, Href string
	Action           licensing.Action
}

// Nav is the portal's navigation, in order. Every page under /settings/ is
// grouped under "Settings" (settingsNav), wherever it is listed here.
var Nav = []NavItem{
	{"overview", "Overview", "/", ""},
	// Members and seats.
	{"members", "Members", "/members", licensing.ViewMembers},
	{"seats", "Seats", "/seats", licensing.ViewSeats},
	// Allocation, consumption, waste and compliance.
	{"insights", "Insights", "/insights", licensing.ViewInsights},
	// Plans, trials, seats bought, invoices.
	{"billing", "Billing", "/billing", licensing.ViewBilling},
	{"audit", "Audit log", "/audit", licensing.ViewAudit},
	// Settings: keys for the vendor's applications, the identity provider,
	// support sessions.
	{"api-keys", "API keys", "/settings/api-keys", licensing.ManageAPIKeys},
	{"provisioning", "Provisioning", "/settings/provisioning", licensing.ManageProvisioning},
	{"sso", "Single sign-on", "/settings/sso", licensing.ManageSSO},
	{"support", "Support access", "/settings/support", licensing.ViewSupport},
	{"alerts", "Alerts", "/settings/alerts", licensing.ReceiveAlerts},
	// The signed-in person's own machines.
	{"devices", "Devices", "/devices", licensing.ManageOwnDevices},
}

// navFor is the navigation a role sees.
func navFor(role string) []NavItem {
	out := make([]NavItem, 0, len(Nav))
	for _, item := range Nav {
		if item.Action == "" || licensing.Can(licensing.Role(role), item.Action) {
			out = append(out, item)
		}
	}
	return out
}

func isSettings(item NavItem) bool { return strings.HasPrefix(item.Href, "/settings/") }

// SettingsHome is where /settings leads a role: its first settings page, or
// the person's own profile when the role has none (a plain member).
func SettingsHome(role string) string {
	if items := settingsNav(navFor(role)); len(items) > 0 {
		return items[0].Href
	}
	return "/profile"
}

// mainNav and settingsNav split the navigation into the pages and the
// settings group.
func mainNav(items []NavItem) []NavItem     { return filterNav(items, false) }
func settingsNav(items []NavItem) []NavItem { return filterNav(items, true) }

func filterNav(items []NavItem, settings bool) []NavItem {
	var out []NavItem
	for _, item := range items {
		if isSettings(item) == settings {
			out = append(out, item)
		}
	}
	return out
}

func settingsActive(items []NavItem, active string) bool {
	for _, item := range items {
		if item.Key == active {
			return true
		}
	}
	return false
}

func flashRole(f Notice) string {
	if f.Error {
		return "alert"
	}
	return "status"
}

// fieldsJSON is a refused htmx form's field messages, for static/app.js.
func fieldsJSON(fields map[string]string) string {
	if len(fields) == 0 {
		return ""
	}
	b, _ := json.Marshal(fields)
	return string(b)
}

func csrfHeaders(token string) string {
	return fmt.Sprintf(`{"X-CSRF-Token": %q}`, token)
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006")
}

// htmxConfig lets htmx swap error answers too: the server retargets them to
// #errors (handlers.RenderError), so that a refused htmx action shows why.
//
// A 4xx answer is a refusal the page shows (the message, and field messages
// beside their fields), not an htmx error; a 5xx is one.
const htmxConfig = `{"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"4..","swap":true},{"code":"5..","swap":true,"error":true}]}`

// canBuySeats tells whether the signed-in member may buy seats.
func canBuySeats(s Shell) bool {
	return s.User != nil && licensing.Can(licensing.Role(s.User.Role), licensing.ManageBilling)
}

// ReadOnly tells whether vendor support is looking at the account in
// read-only mode: the server refuses every change it would send.
func (s Shell) ReadOnly() bool { return s.Impersonation != nil && s.Impersonation.Mode != "write" }

// Can tells whether this session may take action: the signed-in role's
// permission, and nothing but looking in a read-only support session. A
// control the role may use but the session may not is shown disabled, with
// Refusal saying why.
func (s Shell) Can(action licensing.Action) bool {
	return s.User != nil && licensing.CanImpersonated(licensing.Role(s.User.Role), action, s.ReadOnly())
}

// Refusal is why a control the role may use is disabled on this page, ""
// when it is not.
func (s Shell) Refusal(action licensing.Action) string {
	if s.User == nil || s.Can(action) || !licensing.Can(licensing.Role(s.User.Role), action) {
		return ""
	}
	return "Read-only support session: " + s.Impersonation.Staff + " can look but not change anything."
}
