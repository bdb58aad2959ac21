package licensing

import (
	"strings"
	"time"
)

// FeatureSSO is the catalog feature that gives an account single sign-on.
const FeatureSSO = "sso"

// SSOVerificationRecord is the DNS TXT record that proves an account
// controls an email domain it wants single sign-on for.
func SSOVerificationRecord(token string) string { return "entitle-verification=" + token }

// EmailDomain is the domain of an address, in lower case ("" when there is
// none).
func EmailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[at+1:]))
}

// SSOAllowed decides whether an account may use single sign-on: the `sso`
// feature of any of its products, by the one evaluation function. A
// downgrade that drops it takes effect when the plan changes, that is at
// the period end.
func SSOAllowed(a AccountState, now time.Time) Decision {
	best := Decision{Reason: ReasonNotInPlan}
	for _, p := range a.Products {
		d, ok := p.Check(FeatureSSO, SeatNotChecked, now)
		if !ok {
			continue
		}
		if d.HasAccess {
			return d
		}
		best = d
	}
	return best
}
