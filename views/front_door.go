package views

import (
	"fmt"
	"strconv"
	"strings"
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
	TrialSeats       int // a seat-based plan's trial starts with these
}

// VerifyView is a verification link's page.
type VerifyView struct {
	Token, Email, Company string
	Start                 SignupStart
	CSRF                  string
}

// How the plan chosen at sign-up starts (billing.StartOfSignup's ways).
const (
	SignupFree     = "free"
	SignupTrial    = "trial"
	SignupCheckout = "checkout"
)

// SignupStart is the plan a sign-up starts, as the verification page and
// the welcome say it.
type SignupStart struct {
	PlanName  string
	Way       string // SignupFree, SignupTrial, SignupCheckout; "" when no plan is sold
	TrialDays int
	Seats     int // a seat-based plan's trial seats; 0 otherwise
	SeatBased bool
	TrialEnds time.Time
}

// trialTerms says what a trial gives: "a 14-day trial of Business with 5
// seats (one of them yours), ending 12 May 2025".
func (s SignupStart) trialTerms() string {
	out := fmt.Sprintf("a %d-day trial of %s", s.TrialDays, s.PlanName)
	if s.Seats > 0 {
		out += fmt.Sprintf(" with %d %s (one of them yours)", s.Seats, plural(s.Seats, "seat", "seats"))
	}
	return out + ", ending " + formatDate(s.TrialEnds)
}

// signupStartSentence tells, before the account is created, which plan it
// starts on and how.
func signupStartSentence(s SignupStart) string {
	switch s.Way {
	case SignupFree:
		return "It starts on " + s.PlanName + ", which costs nothing."
	case SignupTrial:
		return "It starts " + s.trialTerms() + ". No card is needed."
	case SignupCheckout:
		if s.SeatBased {
			return "Next you choose how many seats of " + s.PlanName + " to buy, and pay at checkout."
		}
		return "Next you pay for " + s.PlanName + " at checkout."
	}
	return "Next you choose a plan on the billing page."
}

// WelcomeMessage greets the new owner once their plan has started.
func WelcomeMessage(account string, s SignupStart) string {
	if s.Way == SignupTrial {
		return "Welcome to Entitle: your account " + account + " is ready on " + s.trialTerms() + "."
	}
	return "Welcome to Entitle: your account " + account + " is ready on " + s.PlanName + "."
}

// passwordRule is the rule of a new password as every form asks for it
// (licensing.PasswordProblem checks it).
func passwordRule() string {
	return fmt.Sprintf("%d to %d characters", licensing.MinPasswordLength, licensing.MaxPasswordLength)
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
	MaxSeats          int    // the most seats one checkout buys (billing.MaxCheckoutSeats)
}

// Total is what the purchase costs a month for the seats typed, before any
// promotion code ("" while the seats are not a number the form accepts).
func (v CheckoutView) Total() string {
	seats, err := strconv.Atoi(strings.TrimSpace(v.Seats))
	if !v.SeatBased {
		seats, err = 1, nil
	}
	if err != nil || seats < 1 || seats > v.MaxSeats {
		return ""
	}
	total := "Total: " + FormatMoney(v.UnitAmount*int64(seats), v.Currency) + " per month"
	if v.SeatBased {
		total += " for " + itoa(seats) + " " + plural(seats, "seat", "seats")
	}
	return total
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

// passwordMin and passwordMax bound a new password's field as the rule does;
// nameMax and companyMax bound a person's name and a company's (an
// account's) name as theirs do, so the browser stops the typing where the
// server would refuse it.
func passwordMin() string { return itoa(licensing.MinPasswordLength) }
func passwordMax() string { return itoa(licensing.MaxPasswordLength) }
func nameMax() string     { return itoa(licensing.MaxNameLength) }
func companyMax() string  { return itoa(licensing.MaxCompanyLength) }
