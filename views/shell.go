// Package views holds Entitle's templ layouts, pages and htmx partials.
// Views only display: handlers hand them plain view models (defined here)
// and licensing types, never store rows, so no page can run a query.
package views

import (
	"fmt"
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
	Banners []Banner
	// Impersonation is set while vendor support acts as the account
	// (vendor console, issue #5): every page then carries its banner.
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
}

// NavItem is one link of the portal's navigation. Action, when set, is what
// the signed-in member's role must allow for the link to show.
type NavItem struct {
	Key, Label, Href string
	Action           licensing.Action
}

// Nav is the portal's navigation, in order.
var Nav = []NavItem{
	{"overview", "Overview", "/", ""},
	// Members and seats.
	{"members", "Members", "/members", licensing.ViewMembers},
	{"seats", "Seats", "/seats", licensing.ViewSeats},
	{"audit", "Audit log", "/audit", licensing.ViewAudit},
	// Billing: plans, trials, seats bought, cancellation.
	{"billing", "Billing", "/billing", licensing.ViewBilling},
	// Entitlement API (issue #6): keys for the vendor's applications.
	{"api-keys", "API keys", "/settings/api-keys", licensing.ManageAPIKeys},
	// Vendor console (issue #5): the customer's view of support sessions.
	{"support", "Support access", "/settings/support", licensing.ViewSupport},
	{"alerts", "Alerts", "/settings/alerts", licensing.ReceiveAlerts},
	// Insights (issue #9): allocation, consumption, waste and compliance.
	{"insights", "Insights", "/insights", licensing.ViewInsights},
	// Provisioning (issue #8): SCIM tokens, rules, the identity provider's groups.
	{"provisioning", "Provisioning", "/settings/provisioning", licensing.ManageProvisioning},
	{"sso", "Single sign-on", "/settings/sso", licensing.ManageSSO},
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
const htmxConfig = `{"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"[45]..","swap":true,"error":true}]}`
