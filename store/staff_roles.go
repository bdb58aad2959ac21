package store

// StaffCapability is something a vendor staff role may do in the console.
type StaffCapability string

// What the console's pages and actions need. DESIGN.md: support finds and
// impersonates accounts, operators manage grants, failed events and the
// outbox, admins read the global audit log and manage staff.
const (
	CanFindAccounts     StaffCapability = "accounts"
	CanImpersonate      StaffCapability = "impersonate"       // read-only sessions
	CanImpersonateWrite StaffCapability = "impersonate_write" // also needs the account's consent
	CanManageGrants     StaffCapability = "grants"
	CanManageEvents     StaffCapability = "events"
	CanReadOutbox       StaffCapability = "outbox"
	CanReadAudit        StaffCapability = "audit"
	CanManageStaff      StaffCapability = "staff"
	CanSimulateBilling  StaffCapability = "simulate_billing" // the local billing simulator's buttons
	CanViewInsights     StaffCapability = "insights"         // insights across all accounts
	CanApproveDomains   StaffCapability = "approve_domains"  // verify an account's SSO email domain by hand
	CanManageCatalog    StaffCapability = "catalog"          // pilot lists and accounts' countries
	CanManageWebhooks   StaffCapability = "webhooks"         // outbound webhook endpoints and their deliveries
	CanManageVendorKeys StaffCapability = "vendor_keys"      // vendor API keys, which reach every account
	CanCreateAccounts   StaffCapability = "create_accounts"  // /admin/accounts/new
)

// staffRoleCapabilities is the one table of who may do what in the console.
// admin may do everything.
var staffRoleCapabilities = map[string][]StaffCapability{
	"support":       {CanFindAccounts, CanImpersonate},
	"support_admin": {CanFindAccounts, CanImpersonate, CanImpersonateWrite, CanSimulateBilling},
	"operator": {CanFindAccounts, CanManageGrants, CanManageEvents, CanReadOutbox, CanSimulateBilling, CanViewInsights,
		CanApproveDomains, CanManageCatalog, CanManageWebhooks, CanCreateAccounts},
	"admin": {CanFindAccounts, CanImpersonate, CanImpersonateWrite, CanManageGrants, CanManageEvents,
		CanReadOutbox, CanReadAudit, CanManageStaff, CanSimulateBilling, CanViewInsights, CanApproveDomains, CanManageCatalog,
		CanManageWebhooks, CanManageVendorKeys, CanCreateAccounts},
}

// StaffCan reports whether a staff role has a capability.
func StaffCan(role string, capability StaffCapability) bool {
	for _, c := range staffRoleCapabilities[role] {
		if c == capability {
			return true
		}
	}
	return false
}

// Can reports whether the signed-in staff member has a capability.
func (s StaffSession) Can(capability StaffCapability) bool { return StaffCan(s.Role, capability) }

// Actor is the staff member as the audit log records them.
func (s StaffSession) Actor() Actor {
	return Actor{Type: "staff", ID: itoa(s.StaffID), Label: s.Email}
}
