// Package views holds Entitle's templ layouts, pages and htmx partials.
// Views only display: handlers hand them plain view models (defined here)
// and licensing types, never store rows, so no page can run a query.
package views

import (
	"fmt"
	"time"
)

// Shell is what the layout needs on every page.
type Shell struct {
	Title   string
	Active  string // nav item to mark: overview, members, seats, billing, audit
	CSRF    string
	User    *User // nil on public pages
	Flash   string
	Banners []Banner
}

// User is the signed-in person as the layout shows them.
type User struct {
	Email       string
	Name        string
	Role        string
	AccountName string
}

// Banner is an account-wide notice (past due, over-allocated, ...).
type Banner struct {
	Kind    string // info, warn, danger
	TestID  string
	Message string
}

// NavItem is one link of the portal's navigation.
type NavItem struct {
	Key, Label, Href string
}

// Nav is the portal's navigation, in order.
var Nav = []NavItem{
	{"overview", "Overview", "/"},
	{"api-keys", "API keys", "/settings/api-keys"}, // entitlement API (issue #6)
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
