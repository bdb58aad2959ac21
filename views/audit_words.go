package views

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AuditFacts is one audit entry as its sentence needs it.
type AuditFacts struct {
	Action       string
	ActorType    string // user, staff, stripe, scim, system
	ActorID      string // for Stripe: the event type
	ActorLabel   string // an email, a token name, an event id
	Impersonator string
	TargetType   string
	TargetID     string
	Before       []byte // JSON, as recorded
	After        []byte
}

// AuditChange is one field an entry changed: before → after, in words.
type AuditChange struct {
	Field, Before, After string
}

// auditWords says, per action, what happened to the entry's target; the
// actor ("by owner@globex.test") is added by AuditSentence. Every action
// the code writes has its words here (TestEveryAuditActionHasWords).
var auditWords = map[string]func(t string, f AuditFacts) string{
	// Members and seats.
	"member.invite": func(t string, f AuditFacts) string {
		if f.field("resent") == "yes" {
			return "Invitation sent again to " + t
		}
		return t + " invited as " + roleLabel(f.field("role"))
	},
	"member.invite_revoke": func(t string, _ AuditFacts) string { return "Invitation to " + t + " revoked" },
	"member.accept":        func(t string, _ AuditFacts) string { return t + " joined the account" },
	"member.add":           func(t string, _ AuditFacts) string { return t + " added to the account" },
	"member.role": func(t string, f AuditFacts) string {
		return "Role of " + t + " changed to " + roleLabel(f.field("role"))
	},
	"member.remove": func(t string, _ AuditFacts) string { return t + " removed from the account" },
	"member.alerts": func(t string, _ AuditFacts) string { return "Alerts changed for " + t },
	"seat.assign":   func(t string, _ AuditFacts) string { return "Seat assigned to " + t },
	"seat.unassign": func(t string, _ AuditFacts) string { return "Seat unassigned from " + t },
	"seat.release":  func(t string, _ AuditFacts) string { return "Seat released from " + t },
	"seat.reclaim":  func(t string, _ AuditFacts) string { return "Idle seat reclaimed from " + t },
	"seat.pin":      func(t string, _ AuditFacts) string { return "Seat of " + t + " pinned (rules leave it alone)" },
	"seat.unpin":    func(t string, _ AuditFacts) string { return "Seat of " + t + " unpinned" },
	"subscription.auto_assign": func(t string, _ AuditFacts) string {
		return "Automatic seat assignment changed"
	},
	"account.invite_domains": func(string, AuditFacts) string { return "Who may be invited changed" },
	// The account.
	"account.create":         func(t string, _ AuditFacts) string { return "Account " + t + " created" },
	"account.signup":         func(t string, _ AuditFacts) string { return "Account " + t + " signed up" },
	"account.update":         func(t string, _ AuditFacts) string { return "Account details of " + t + " changed" },
	"account.country":        func(string, AuditFacts) string { return "Account country changed" },
	"account.support_access": func(string, AuditFacts) string { return "Support access changed" },
	"apikey.create":          func(t string, _ AuditFacts) string { return "API key " + t + " created" },
	"apikey.revoke":          func(t string, _ AuditFacts) string { return "API key " + t + " revoked" },
	"insights.settings":      func(string, AuditFacts) string { return "Idle seat settings changed" },
	"machine.activate":       func(t string, _ AuditFacts) string { return "Machine " + t + " activated" },
	"machine.deactivate":     func(t string, _ AuditFacts) string { return "Machine " + t + " deactivated" },
	"lease.force_release":    func(t string, _ AuditFacts) string { return "Floating licence " + t + " released" },
	// People.
	"person.password_change": func(t string, _ AuditFacts) string { return "Password of " + t + " changed" },
	"person.password_reset":  func(t string, _ AuditFacts) string { return "Password of " + t + " reset" },
	"two_factor.enable":      func(t string, _ AuditFacts) string { return "Two-factor sign-in turned on for " + t },
	"two_factor.disable":     func(t string, _ AuditFacts) string { return "Two-factor sign-in turned off for " + t },
	// Billing: the portal's own actions and Stripe's events.
	"billing.checkout_completed": func(string, AuditFacts) string { return "Checkout completed" },
	"billing.customer_create":    func(string, AuditFacts) string { return "Billing customer created" },
	"billing.trial_extension":    func(string, AuditFacts) string { return "Trial extended" },
	"billing.subscription_cancel": func(t string, _ AuditFacts) string {
		return "Cancellation of " + t + " at period end asked for"
	},
	"billing.subscription_resume": func(t string, _ AuditFacts) string {
		return "Resumption of " + t + " asked for (the cancellation at period end taken back)"
	},
	"billing.trial_convert":         func(t string, _ AuditFacts) string { return "Conversion of the trial of " + t + " asked for" },
	"billing.invoice_pay":           func(t string, _ AuditFacts) string { return "Payment of " + t + " asked for" },
	"billing.payment_method_update": func(string, AuditFacts) string { return "Payment method updated" },
	"billing.plan_change":           planChangeWords,
	"billing.trial_start": func(t string, f AuditFacts) string {
		return "Trial of " + t + counted(" (", f.field("trial_days"), " days)") + " asked for"
	},
	"billing.seat_change": func(t string, f AuditFacts) string {
		seats := counted(" (", f.field("seats_from"), " → "+f.field("seats_to")+")")
		if f.field("at_period_end") == "yes" {
			return "Reduction of seats for " + t + seats + " at period end asked for"
		}
		return "Purchase of seats for " + t + seats + " asked for"
	},
	"billing.keep_plan": func(t string, f AuditFacts) string {
		dropped := f.field("scheduled_plan")
		if seats := f.field("scheduled_seats"); seats != "" {
			dropped = strings.TrimPrefix(dropped+" with "+seats+" seats", " with ")
		}
		return "Keeping " + t + " asked for" + counted(" (the change to ", dropped, " at period end dropped)")
	},
	"billing.addon_set": func(t string, f AuditFacts) string {
		switch from, to := f.field("units_from"), f.field("units_to"); {
		case to == "0":
			return "Removal of add-on " + t + " asked for"
		case from == "0" || from == "":
			return "Purchase of add-on " + t + counted(" (", to, " "+unitsWord(to)+")") + " asked for"
		default:
			return "Change of add-on " + t + " from " + from + " to " + to + " " + unitsWord(to) + " asked for"
		}
	},
	"billing.promotion_redeem": func(t string, f AuditFacts) string {
		if f.field("applied_to") == "checkout" {
			return "Promotion code " + promotionCode(t, f) + " applied at checkout of " + f.field("plan")
		}
		return "Promotion code " + promotionCode(t, f) + " applied to the " + f.field("applied_to") + " to " + f.field("plan")
	},
	"billing.promotion_release": func(t string, f AuditFacts) string {
		return "Promotion code " + promotionCode(t, f) + " given back (the payment provider refused the change)"
	},
	"subscription.create":      func(t string, _ AuditFacts) string { return "Subscription " + t + " started" },
	"subscription.plan_change": func(t string, _ AuditFacts) string { return "Plan change asked for " + t },
	"subscription.trial_will_end": func(t string, _ AuditFacts) string {
		return "Trial of " + t + " ends soon"
	},
	"subscription.created":             func(t string, _ AuditFacts) string { return "Subscription " + t + " created" },
	"subscription.updated":             func(t string, _ AuditFacts) string { return "Subscription " + t + " updated" },
	"subscription.deleted":             func(t string, _ AuditFacts) string { return "Subscription " + t + " ended" },
	"subscription.migration_notice":    func(t string, _ AuditFacts) string { return "Told of the move of " + t + " to a new plan version" },
	"subscription.migration_scheduled": func(t string, _ AuditFacts) string { return "Move of " + t + " to a new plan version scheduled" },
	"subscription.migration_moved":     func(t string, _ AuditFacts) string { return t + " moved to a new plan version" },
	"subscription.migration_skipped":   func(t string, _ AuditFacts) string { return t + " left on its plan version" },
	"subscription.migration_sent_to_provider": func(t string, _ AuditFacts) string {
		return "Move of " + t + " to a new plan version sent to the payment provider"
	},
	"invoice.paid":                    func(string, AuditFacts) string { return "Invoice paid" },
	"invoice.payment_failed":          func(string, AuditFacts) string { return "Invoice payment failed" },
	"invoice.payment_action_required": func(string, AuditFacts) string { return "Invoice payment needs the customer's action" },
	"stripe_event.retry":              func(t string, _ AuditFacts) string { return "Stripe event " + t + " retried" },
	"stripe_event.retry_all":          func(string, AuditFacts) string { return "Every failed Stripe event retried" },
	// Vendor support and the console.
	"impersonation.start":   func(string, AuditFacts) string { return "Support session started" },
	"impersonation.end":     func(string, AuditFacts) string { return "Support session ended" },
	"impersonation.request": func(t string, _ AuditFacts) string { return "Support session opened " + t },
	"grant.create":          func(t string, _ AuditFacts) string { return "Grant " + t + " given" },
	"grant.revoke":          func(t string, _ AuditFacts) string { return "Grant " + t + " revoked" },
	"staff.create":          func(t string, _ AuditFacts) string { return "Staff member " + t + " added" },
	"staff.disable":         func(t string, _ AuditFacts) string { return "Staff member " + t + " disabled" },
	"staff.role":            func(t string, _ AuditFacts) string { return "Role of staff member " + t + " changed" },
	"staff.set_password":    func(t string, _ AuditFacts) string { return "Password of staff member " + t + " set" },
	"vendor_key.create":     func(t string, _ AuditFacts) string { return "Vendor key " + t + " created" },
	"vendor_key.revoke":     func(t string, _ AuditFacts) string { return "Vendor key " + t + " revoked" },
	"signing_key.create":    func(t string, _ AuditFacts) string { return "Licence signing key " + t + " created" },
	"signing_key.retire":    func(t string, _ AuditFacts) string { return "Licence signing key " + t + " retired" },
	// The catalog.
	"catalog.plan_created":      func(t string, _ AuditFacts) string { return "Plan " + t + " created" },
	"catalog.plan_updated":      func(t string, _ AuditFacts) string { return "Plan " + t + " updated" },
	"catalog.plan_versioned":    func(t string, _ AuditFacts) string { return "New version of plan " + t },
	"catalog.plan_settings":     func(t string, _ AuditFacts) string { return "Settings of plan " + t + " changed" },
	"catalog.export_controls":   func(t string, _ AuditFacts) string { return "Export controls of " + t + " changed" },
	"catalog.feature_regions":   func(t string, _ AuditFacts) string { return "Regions of feature " + t + " changed" },
	"catalog.addon_created":     func(t string, _ AuditFacts) string { return "Add-on " + t + " created" },
	"catalog.addon_updated":     func(t string, _ AuditFacts) string { return "Add-on " + t + " changed" },
	"catalog.addon_retired":     func(t string, _ AuditFacts) string { return "Add-on " + t + " retired: no longer sold" },
	"addon.added":               func(t string, _ AuditFacts) string { return "Add-on " + t + " bought" },
	"addon.changed":             func(t string, _ AuditFacts) string { return "Units of add-on " + t + " changed" },
	"addon.removed":             func(t string, _ AuditFacts) string { return "Add-on " + t + " removed" },
	"plan.pilot_add":            func(t string, _ AuditFacts) string { return "Account " + t + " added to a plan's pilot" },
	"plan.pilot_remove":         func(t string, _ AuditFacts) string { return "Account " + t + " removed from a plan's pilot" },
	"catalog.promotion_added":   func(t string, _ AuditFacts) string { return "Promotion code " + t + " added" },
	"catalog.promotion_changed": func(t string, _ AuditFacts) string { return "Terms of promotion code " + t + " changed" },
	"catalog.promotion_removed": func(t string, _ AuditFacts) string { return "Promotion code " + t + " no longer accepted" },
	// Outbound webhooks.
	"webhook_endpoint.create":        func(t string, _ AuditFacts) string { return "Webhook endpoint " + t + " added" },
	"webhook_endpoint.enable":        func(t string, _ AuditFacts) string { return "Webhook endpoint " + t + " turned on" },
	"webhook_endpoint.disable":       func(t string, _ AuditFacts) string { return "Webhook endpoint " + t + " turned off" },
	"webhook_endpoint.rotate_secret": func(t string, _ AuditFacts) string { return "Secret of webhook endpoint " + t + " rotated" },
	"webhook_delivery.replay":        func(t string, _ AuditFacts) string { return "Webhook delivery " + t + " sent again" },
	"webhook_delivery.replay_since":  func(string, AuditFacts) string { return "Webhook deliveries sent again" },
	// Provisioning and single sign-on.
	"provisioning.rule_create":      func(t string, _ AuditFacts) string { return "Provisioning rule " + t + " added" },
	"provisioning.rule_delete":      func(t string, _ AuditFacts) string { return "Provisioning rule " + t + " deleted" },
	"provisioning.unmatched_policy": func(string, AuditFacts) string { return "What happens to people no rule matches changed" },
	"scim_token.create":             func(t string, _ AuditFacts) string { return "Provisioning token " + t + " created" },
	"scim_token.revoke":             func(t string, _ AuditFacts) string { return "Provisioning token " + t + " revoked" },
	"scim.user.create":              func(t string, _ AuditFacts) string { return t + " created by the identity provider" },
	"scim.user.update":              func(t string, _ AuditFacts) string { return t + " updated by the identity provider" },
	"scim.user.deactivate":          func(t string, _ AuditFacts) string { return t + " deactivated by the identity provider" },
	"scim.user.reactivate":          func(t string, _ AuditFacts) string { return t + " reactivated by the identity provider" },
	"scim.user.delete":              func(t string, _ AuditFacts) string { return t + " deleted by the identity provider" },
	"scim.group.create":             func(t string, _ AuditFacts) string { return "Group " + t + " created by the identity provider" },
	"scim.group.update":             func(t string, _ AuditFacts) string { return "Group " + t + " updated by the identity provider" },
	"scim.group.delete":             func(t string, _ AuditFacts) string { return "Group " + t + " deleted by the identity provider" },
	"sso.configure":                 func(string, AuditFacts) string { return "Single sign-on set up" },
	"sso.domain.add":                func(t string, _ AuditFacts) string { return "Domain " + t + " added to single sign-on" },
	"sso.domain.remove":             func(t string, _ AuditFacts) string { return "Domain " + t + " removed from single sign-on" },
	"sso.domain.verify":             func(t string, _ AuditFacts) string { return "Domain " + t + " verified" },
	"sso.downgrade_notice":          func(string, AuditFacts) string { return "Told that single sign-on ends with the plan change" },
	"sso.member.create":             func(t string, _ AuditFacts) string { return t + " joined through single sign-on" },
	"sso.sign_in":                   func(t string, _ AuditFacts) string { return t + " signed in with single sign-on" },
	"sso.sign_in.refused":           func(t string, _ AuditFacts) string { return "Single sign-on refused for " + t },
	"sso.break_glass.sign_in":       func(t string, _ AuditFacts) string { return t + " signed in with the break-glass password" },
}

// planChangeWords says which way a buyer asked to move plans.
func planChangeWords(t string, f AuditFacts) string {
	from := counted(" from ", f.field("from"), "")
	switch f.field("direction") {
	case "upgrade":
		return "Upgrade" + from + " to " + t + " asked for"
	case "downgrade":
		return "Downgrade" + from + " to " + t + " at period end asked for"
	case "subscribe":
		return "Subscription to " + t + " asked for"
	}
	return "Change of plan" + from + " to " + t + " asked for"
}

// promotionCode is the code a redemption recorded: the entry's target
// would be its plan, which the entry records too.
func promotionCode(t string, f AuditFacts) string {
	if code := f.field("code"); code != "" {
		return code
	}
	return t
}

// unitsWord is "unit" or "units" for a recorded count.
func unitsWord(count string) string {
	n, _ := strconv.Atoi(count)
	return plural(n, "unit", "units")
}

// counted is a recorded value between its words, or nothing when the
// entry did not record it.
func counted(before, v, after string) string {
	if v == "" {
		return ""
	}
	return before + v + after
}

// AuditWords is what an entry did, in words, without who did it; ok is
// false for an action without words (the page then shows the action code).
func AuditWords(f AuditFacts) (string, bool) {
	say, ok := auditWords[f.Action]
	if !ok {
		return f.Action, false
	}
	return say(f.target(), f), true
}

// AuditSentence is the entry as the audit log reads it: "Seat assigned to
// carol@globex.test by owner@globex.test"; an entry Stripe's event caused
// reads "Stripe — invoice.paid: Invoice in_1 paid".
func AuditSentence(f AuditFacts) string {
	what, _ := AuditWords(f)
	switch f.ActorType {
	case "stripe":
		return "Stripe — " + f.ActorID + ": " + what
	case "system":
		if f.ActorLabel != "" {
			return what + " (" + f.ActorLabel + ")"
		}
		return what
	}
	who := f.ActorLabel
	if who == "" {
		who = f.ActorType
	}
	return what + " by " + who
}

// target names what the entry changed as a person knows it: the address,
// name or key it recorded, else its kind and number.
func (f AuditFacts) target() string {
	for _, key := range []string{"email", "name", "key", "domain", "url", "plan"} {
		if v := f.field(key); v != "" {
			return v
		}
	}
	if f.TargetType == "route" {
		return f.TargetID
	}
	if f.TargetID == "" {
		return strings.ReplaceAll(f.TargetType, "_", " ")
	}
	return strings.TrimSpace(strings.ReplaceAll(f.TargetType, "_", " ") + " " + f.TargetID)
}

// field is a recorded value, after the change first, as text.
func (f AuditFacts) field(key string) string {
	for _, raw := range [][]byte{f.After, f.Before} {
		m := jsonObject(raw)
		if v, ok := m[key]; ok && v != nil {
			return valueText(v)
		}
	}
	return ""
}

// AuditChanges lists the fields an entry changed, before → after, in the
// order of their names; a field only recorded on one side shows that side.
// A field empty on both sides, and an address that did not change (it
// names the target), are left out.
func AuditChanges(f AuditFacts) []AuditChange {
	before, after := jsonObject(f.Before), jsonObject(f.After)
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []AuditChange
	for _, k := range names {
		b, hasB := before[k]
		a, hasA := after[k]
		bt, at := recordedText(k, b, before), recordedText(k, a, after)
		if hasB && hasA && bt == at {
			continue
		}
		if !hasB {
			bt = ""
		}
		if !hasA {
			at = ""
		}
		// Nothing on either side (an account made without an external id
		// records ""): there is no change to show.
		if bt == "" && at == "" {
			continue
		}
		out = append(out, AuditChange{Field: strings.ReplaceAll(k, "_", " "), Before: bt, After: at})
	}
	return out
}

// stateWords are the recorded states shown as the pages show them; other
// values (roles, addresses, keys) are shown as recorded.
var stateWords = map[string]string{"trialing": "Trial", "active": "Active", "past_due": "Past due",
	"suspended": "Suspended", "canceled": "Canceled", "invited": "Invited", "deactivated": "Removed"}

func jsonObject(raw []byte) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// valueText writes a recorded value short: words for statuses and roles,
// lists joined, nested objects as their fields.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if l, ok := stateWords[x]; ok {
			return l
		}
		return cutText(x, 120)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		if x == float64(int64(x)) {
			return formatCount(int64(x))
		}
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, valueText(e))
		}
		return cutText(strings.Join(parts, ", "), 120)
	}
	b, _ := json.Marshal(v)
	return cutText(string(b), 120)
}

// recordedText is valueText knowing the field's name and record: an
// amount of a record with a currency is money ("$16.00", not 1,600 of its
// minor units), and a recorded time reads as a date.
func recordedText(key string, v any, record map[string]any) string {
	if n, ok := v.(float64); ok && strings.Contains(key, "amount") {
		if currency, ok := record["currency"].(string); ok && currency != "" {
			return FormatMoney(int64(n), currency)
		}
	}
	if t, ok := v.(string); ok {
		if at, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return at.UTC().Format("2 Jan 2006 15:04 UTC")
		}
	}
	return valueText(v)
}

func cutText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
