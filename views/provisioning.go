package views

import "strconv"

// ProvisioningView is /settings/provisioning: SCIM tokens, the
// identity provider's groups, the rules and the unmatched policy.
type ProvisioningView struct {
	SCIMURL      string
	NewToken     *NewTokenView // shown once, right after it is made
	Tokens       []SCIMTokenView
	Groups       []IdPGroupView
	Rules        []RuleView
	Products     []ProductOptionView
	Unmatched    string // member or deny
	Provisioned  int
	Waiting      int
	Drifts       int64
	ReconciledAt string
	Form         RuleFormView
	Preview      *RulePreviewView
}

// NewTokenView is a token just made.
type NewTokenView struct {
	Name, Token string
}

// SCIMTokenView is one token of the list.
type SCIMTokenView struct {
	ID        int64
	Name      string
	Prefix    string
	CreatedBy string
	CreatedAt string
	LastUsed  string
	Revoked   bool
}

// IdPGroupView is a group the identity provider pushed.
type IdPGroupView struct {
	ID      int64
	Name    string
	Members int
	Deleted bool
}

// RuleView is one rule with what it gives now.
type RuleView struct {
	ID           int64
	Group        string
	GroupDeleted bool
	Role         string
	Product      string
	Priority     int
	Seats        int
	Waiting      int
}

// ProductOptionView is a product a rule may give seats of.
type ProductOptionView struct{ Key, Name string }

// RuleFormView is the add-rule form as the admin filled it.
type RuleFormView struct {
	GroupID  int64
	Role     string
	Product  string
	Priority int
}

// RulePreviewView is what a rule change would do, with the form that
// saves it (Fields are posted again as they were).
type RulePreviewView struct {
	Title    string
	Fields   []FieldView
	Gains    []EffectView
	Losses   []EffectView
	Waits    []EffectView
	Standing []EffectView
}

// FieldView is a hidden form field.
type FieldView struct{ Name, Value string }

// EffectView is one person a rule change affects.
type EffectView struct {
	Email   string
	Product string
	What    string // for standing changes: "admitted as admin", "not admitted", "role member"
	Cause   string
}

// Nothing says the change affects nobody.
func (p RulePreviewView) Nothing() bool {
	return len(p.Gains)+len(p.Losses)+len(p.Waits)+len(p.Standing) == 0
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func ruleRoleLabel(role string) string {
	if role == "" {
		return "—"
	}
	return roleLabel(role)
}

// WaitingView is one person waiting for a seat.
type WaitingView struct {
	MembershipID int64
	Position     int
	Name, Email  string
	Group        string
	Since        string
	Reason       string
}
