package views

import "time"

// SSOSettings is the /settings/sso page.
type SSOSettings struct {
	// Allowed: the plan (or a grant) gives `sso`; otherwise the page
	// explains and links to billing, and NotAllowedReason says why.
	Allowed          bool
	NotAllowedReason string
	CanBuy           bool // the viewer may change the plan

	Configured   bool
	Issuer       string
	ClientID     string
	HasSecret    bool
	SecretSealed bool
	DefaultRole  string
	RequireSSO   bool
	BreakGlassID int64
	Owners       []SSOOwner
	CallbackURL  string

	Domains   []SSODomainRow
	NewDomain string
	Failures  []SSOFailureRow
	Errors    map[string]string
}

// SSOOwner is an owner who may be the break-glass person.
type SSOOwner struct {
	ID    int64
	Email string
}

// SSODomainRow is one email domain of the account.
type SSODomainRow struct {
	ID         int64
	Domain     string
	Record     string
	VerifiedAt time.Time
	VerifiedBy string
}

// SSOFailureRow is one refused callback.
type SSOFailureRow struct {
	At     time.Time
	Reason string
	Detail string
	Email  string
}

// ssoRoles are the roles people created just in time may get.
var ssoRoles = []string{"member", "billing", "admin"}

func ssoVerifiedBy(by string) string {
	switch by {
	case "dns":
		return "by DNS record"
	case "":
		return ""
	}
	return "by " + by
}

// AdminSSO is the console's view of an account's single sign-on.
type AdminSSO struct {
	Slug, Name string
	Entitled   bool // the plan gives `sso`
	Configured bool
	InUse      bool // entitled, configured and at least one verified domain
	Issuer     string
	ClientID   string
	RequireSSO bool
	Domains    []SSODomainRow
	Failures   []SSOFailureRow
	CanApprove bool
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
