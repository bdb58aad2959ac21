package views

import (
	"fmt"
	"strings"
)

// Labels of the members, seats and audit pages.

func roleLabel(r string) string {
	switch r {
	case "owner":
		return "Owner"
	case "admin":
		return "Admin"
	case "billing":
		return "Billing"
	case "member":
		return "Member"
	}
	return r
}

func memberStatusLabel(s string) string {
	switch s {
	case "active":
		return "Active"
	case "invited":
		return "Invited"
	case "deactivated":
		return "Removed"
	}
	return s
}

// inviteRoles are the roles one may give: owners alone make owners.
func inviteRoles(isOwner bool) []string {
	if isOwner {
		return []string{"owner", "admin", "billing", "member"}
	}
	return []string{"admin", "billing", "member"}
}

func filterLabel(name, value string) string {
	switch name + ":" + value {
	case "role:":
		return "Any role"
	case "status:":
		return "Active and invited"
	case "status:all":
		return "Everyone, removed too"
	case "seat:":
		return "Any"
	case "seat:with":
		return "Holds a seat"
	case "seat:without":
		return "Holds no seat"
	}
	if name == "status" {
		return memberStatusLabel(value)
	}
	return roleLabel(value)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func joinOrDash(items []string) string {
	if len(items) == 0 {
		return "—"
	}
	return strings.Join(items, ", ")
}

func cutEq(s string) (string, string, bool) { return strings.Cut(s, "=") }

// SeatOutcomeLabel says what happened (or, in a preview, what will happen)
// to one member or row of a seat change.
func SeatOutcomeLabel(outcome string, preview bool) string {
	switch outcome {
	case "assigned":
		if preview {
			return "Will be assigned a seat"
		}
		return "Seat assigned"
	case "already_held":
		return "Already holds a seat"
	case "unknown_member":
		return "Not a member of this account"
	case "no_seat_left":
		return "No seat left"
	case "malformed":
		return "Not an email address"
	case "duplicate":
		return "Listed twice"
	case "unassigned":
		return "Seat unassigned"
	case "not_held":
		return "Held no seat"
	}
	return outcome
}

// InviteOutcomeLabel says what happened to one invited address.
func InviteOutcomeLabel(outcome, domains string) string {
	switch outcome {
	case "invited":
		return "Invitation sent"
	case "reinvited":
		return "Already invited: a new link was sent, and the old one no longer works"
	case "already_member":
		return "Already a member"
	case "malformed":
		return "Not an email address"
	case "duplicate":
		return "Listed twice: invited once"
	case "domain_not_allowed":
		return "Not invited: only addresses at " + domains + " may be invited"
	}
	return outcome
}

func joinLines(items []string) string { return strings.Join(items, "\n") }

func overMessage(p SeatPoolView) string {
	return fmt.Sprintf("%d seats are assigned but the pool has %d. Unassign %d %s (the least active are marked below) or buy more seats. "+
		"Nobody loses a seat until you choose; new assignments are paused.", p.Assigned, p.Effective, p.Over, plural(p.Over, "holder", "holders"))
}

// RoleLabel is a role as people read it ("Admin"), for messages handlers
// write.
func RoleLabel(r string) string { return roleLabel(r) }

// SeatChangeSummary is the flash message of a seat change: how many
// members it changed and how many it did not.
func SeatChangeSummary(changed, other int) string {
	msg := fmt.Sprintf("%d %s changed", changed, plural(changed, "seat", "seats"))
	if other > 0 {
		msg += fmt.Sprintf("; %d %s unchanged (see below)", other, plural(other, "row", "rows"))
	}
	return msg + "."
}
