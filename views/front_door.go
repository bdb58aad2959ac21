package views

import (
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// PricingView is the public pricing page's view model.
type PricingView struct {
	ProductName string
	Features    []licensing.Feature
	Plans       []PricingPlan
}

// What a pricing column offers.
const (
	PricingStart   = "start"   // free: sign up
	PricingTrial   = "trial"   // a trial without a card
	PricingBuy     = "buy"     // checkout
	PricingContact = "contact" // no price in the catalog
	PricingPilot   = "pilot"   // a pilot the signed-in account is listed for: bought on /billing
)

// PricingPlan is one column of the pricing page.
type PricingPlan struct {
	Key, Name string
	Price     string
	TrialDays int
	Values    map[string]licensing.PlanValue
	Action    string
	Pilot     bool
}

// SignupView is the sign-up form, with what was typed and the problems.
type SignupView struct {
	Email, Name, Company, Plan string
	Plans                      []SignupPlan
	Problems                   map[string]string
	CSRF                       string
}

// SignupPlan is one choice of the sign-up form's plan list.
type SignupPlan struct {
	Key, Name, Price string
	TrialDays        int
}

// VerifyView is a verification link's page.
type VerifyView struct {
	Token, Email, Company, Plan string
	CSRF                        string
}

// CheckoutView is an account's first purchase.
type CheckoutView struct {
	PlanKey, PlanName string
	SeatBased         bool
	Seats             string
	UnitAmount        int64
	Currency          string
	Price             string
	Simulated         bool
	Problems          map[string]string
	CSRF              string
	PromotionCode     string // as typed, kept when refused
}

// ForgotView is the "forgot password" form.
type ForgotView struct {
	Email    string
	Problems map[string]string
	CSRF     string
}

// ResetView is a page that sets a password from a link (reset, staff's
// first password).
type ResetView struct {
	Token, Email string
	Problems     map[string]string
	CSRF         string
}

// ProfileView is /profile.
type ProfileView struct {
	Name, Email string
	TwoFactor   bool
	Sessions    []SessionRow
	Problems    map[string]string
	CSRF        string
}

// SessionRow is one place a person is signed in.
type SessionRow struct {
	AccountName, IP, UserAgent string
	Started                    time.Time
	Current                    bool
}

// CodeView asks for a two-factor code.
type CodeView struct {
	Action, Problem, CSRF string
}

// EnrolView is a two-factor enrolment (QR code and first code).
type EnrolView struct {
	Action, QR, Secret, Problem, CSRF string
	Enabled                           bool // already on: nothing to enrol
	Required                          bool // the role needs it before anything else
	Back                              string
}

// StaffInviteForm is the console's "invite staff" form.
type StaffInviteForm struct {
	Email, Name, Role string
	Roles             []string
	Problems          map[string]string
}

// NewAccountForm is /admin/accounts/new.
type NewAccountForm struct {
	Name, Owner, Plan, Grant, Seats, ExternalID string
	Plans                                       []SignupPlan
	Problems                                    map[string]string
	CSRF                                        string
}

// PlanPrice is a plan's price as the pricing and billing pages show it.
func PlanPrice(unitAmount int64, currency string, seatBased bool) string {
	if seatBased {
		return FormatMoney(unitAmount, currency) + " per seat / month"
	}
	return FormatMoney(unitAmount, currency) + " / month"
}

func pricingActionLabel(p PricingPlan) string {
	switch p.Action {
	case PricingStart:
		return "Start free"
	case PricingTrial:
		return "Start " + itoa(p.TrialDays) + "-day trial"
	case PricingBuy, PricingPilot:
		return "Buy " + p.Name
	}
	return "Contact us"
}

func sessionStarted(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 MST") }
