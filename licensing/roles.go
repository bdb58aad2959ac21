package licensing

// Role is a member's role in a customer account (DESIGN.md, "Membership").
type Role string

const (
	Owner   Role = "owner"
	Admin   Role = "admin"
	Billing Role = "billing"
	Member  Role = "member"
)

// Roles lists every role, most powerful first.
var Roles = []Role{Owner, Admin, Billing, Member}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, known := range Roles {
		if r == known {
			return true
		}
	}
	return false
}

// Action is something a member may or may not do in their account. The
// server checks every request against the Permissions table below; the
// portal only hides what the table refuses.
type Action string

const (
	ViewOwnLicences  Action = "licences.view_own" // the overview, with the seats one holds
	ViewMembers      Action = "members.view"
	InviteMembers    Action = "members.invite"
	ChangeRoles      Action = "members.role"
	RemoveMembers    Action = "members.remove"
	SetInviteDomains Action = "members.domains" // the account's invitation domain rules
	ViewSeats        Action = "seats.view"
	AssignSeats      Action = "seats.assign" // assign, unassign, CSV, auto-assign option
	ViewAudit        Action = "audit.view"
	ViewBilling      Action = "billing.view"    // the billing page: plan, prices, what a change would do
	ManageBilling    Action = "billing.manage"  // plans, seats bought, payment (the billing pages)
	ManageAPIKeys    Action = "apikeys.manage"  // API keys and the offline licence file
	ViewSupport      Action = "support.view"    // the account's support (impersonation) sessions
	ConsentSupport   Action = "support.consent" // allow vendor support to impersonate with write access
	// Insights: allocation, consumption, waste and compliance.
	ViewInsights Action = "insights.view"    // the insights page, its live updates and the compliance report
	ReclaimSeats Action = "insights.reclaim" // reclaim idle seats and set the idle and auto-reclaim policy
	// Provisioning: SCIM tokens, rules, the unmatched policy, and
	// seeing the identity provider's groups and the waiting lists.
	ManageProvisioning Action = "provisioning.manage"
	// Single sign-on: the identity provider, the email domains it covers,
	// "require SSO" and the break-glass owner.
	ManageSSO Action = "sso.manage"
	// Alerts: mail when usage nears its limit, a seat pool is full with
	// people waiting, or a trial is ending; each person switches their own.
	ReceiveAlerts Action = "alerts.receive"
	// Devices: every member sees and deactivates their own machines;
	// admins see every machine and floating lease of the account, and
	// deactivate or force-release any.
	ManageOwnDevices Action = "devices.own"
	ManageDevices    Action = "devices.manage"
)

// Actions lists every action, in the order the permission matrix shows them.
var Actions = []Action{ViewOwnLicences, ViewMembers, InviteMembers, ChangeRoles, RemoveMembers,
	SetInviteDomains, ViewSeats, AssignSeats, ViewAudit, ViewBilling, ManageBilling, ManageAPIKeys, ViewSupport, ConsentSupport,
	ViewInsights, ReclaimSeats, ManageProvisioning, ManageSSO, ReceiveAlerts, ManageOwnDevices, ManageDevices}

// Permissions is the permission matrix: which roles may take each action.
// Members see their own licences only; billing manages plans (and sees the
// seat pools it pays for) but not members; admins run members and seats but
// not billing; owners do everything. Role-relative rules (only owners touch
// owners, the last owner stays) are in CanChangeRole and CanRemove.
var Permissions = map[Action][]Role{
	ViewOwnLicences:  {Owner, Admin, Billing, Member},
	ViewMembers:      {Owner, Admin},
	InviteMembers:    {Owner, Admin},
	ChangeRoles:      {Owner, Admin},
	RemoveMembers:    {Owner, Admin},
	SetInviteDomains: {Owner, Admin},
	ViewSeats:        {Owner, Admin, Billing},
	AssignSeats:      {Owner, Admin},
	ViewAudit:        {Owner, Admin},
	ViewBilling:      {Owner, Admin, Billing},
	ManageBilling:    {Owner, Billing},
	ManageAPIKeys:    {Owner, Admin},
	ViewSupport:      {Owner, Admin},
	ConsentSupport:   {Owner},
	ViewInsights:     {Owner, Admin, Billing},
	ReclaimSeats:     {Owner, Admin},
	// Provisioning.
	ManageProvisioning: {Owner, Admin},
	ManageSSO:          {Owner, Admin},
	ReceiveAlerts:      {Owner, Admin},
	ManageOwnDevices:   {Owner, Admin, Billing, Member},
	ManageDevices:      {Owner, Admin},
}

// Can reports whether role may take action. Unknown roles and actions may
// do nothing.
func Can(role Role, action Action) bool {
	for _, r := range Permissions[action] {
		if r == role {
			return true
		}
	}
	return false
}

// CanInviteAs reports whether actor may invite someone with role: only an
// owner makes owners.
func CanInviteAs(actor, role Role) bool {
	return Can(actor, InviteMembers) && role.Valid() && (role != Owner || actor == Owner)
}

// CanChangeRole reports whether actor may move a member from one role to
// another: only owners give or take the owner role. Whether the member is
// the last owner is the store's to check, under a lock.
func CanChangeRole(actor, from, to Role) bool {
	if !Can(actor, ChangeRoles) || !to.Valid() {
		return false
	}
	if (from == Owner || to == Owner) && actor != Owner {
		return false
	}
	return true
}

// CanRemove reports whether actor may remove a member holding role: only
// owners remove owners.
func CanRemove(actor, target Role) bool {
	return Can(actor, RemoveMembers) && (target != Owner || actor == Owner)
}

// looking lists the actions that only show: a read-only support session
// (vendor staff impersonating the account) may take these and no other.
var looking = map[Action]bool{ViewOwnLicences: true, ViewMembers: true, ViewSeats: true, ViewAudit: true,
	ViewBilling: true, ViewSupport: true, ViewInsights: true}

// CanImpersonated reports whether a support session acting with role may
// take action: as the role may, and, when read-only, only actions that
// change nothing. The server refuses every change of a read-only session
// whatever its route; the portal asks this to show refused controls
// disabled.
func CanImpersonated(role Role, action Action, readOnly bool) bool {
	return Can(role, action) && (!readOnly || looking[action])
}
