package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// signupSent is the one answer to every accepted sign-up form, whether or
// not the address already has a login. It names the address, so that a
// mistyped one is seen before anyone waits for a mail that cannot come.
func signupSent(email string) string {
	return "We sent a link to " + email + ": open it to confirm the address. It works once, for 24 hours."
}

// SignupForm shows /signup (?plan= preselects a plan of the pricing page).
func (h *Handler) SignupForm(c echo.Context) error {
	return h.renderSignup(c, http.StatusOK, views.SignupView{Plan: c.QueryParam("plan")})
}

func (h *Handler) renderSignup(c echo.Context, status int, v views.SignupView) error {
	v.CSRF = csrfToken(c)
	st, err := h.Store.Pricing(c.Request().Context())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := h.Clock.Now()
	for _, p := range st.Plans {
		if p.PriceID.Valid {
			v.Plans = append(v.Plans, views.SignupPlan{Key: p.PlanKey, Name: p.Name, TrialDays: p.TrialDays,
				TrialSeats: billing.StartOfSignup(st, p.PlanKey, now).Seats,
				Price:      views.PlanPrice(p.UnitAmount, p.Currency, p.SeatBased)})
		}
	}
	return render(c, status, views.SignupPage(h.shell(c, "Sign up", ""), v))
}

// Signup checks the form and mails the verification link. The answer is
// the same for an address that already has a login (which is mailed
// "you already have an account" instead).
func (h *Handler) Signup(c echo.Context) error {
	v := views.SignupView{Email: strings.TrimSpace(c.FormValue("email")), Name: c.FormValue("name"),
		Company: c.FormValue("company"), Plan: c.FormValue("plan")}
	err := h.Store.RequestSignup(c.Request().Context(), store.SignupRequest{Email: v.Email, Name: v.Name,
		Password: c.FormValue("password"), Company: v.Company, Plan: v.Plan, IP: c.RealIP(), BaseURL: h.baseURL(c)})
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		v.Problems = ve.Fields
		return h.renderSignup(c, http.StatusUnprocessableEntity, v)
	}
	var throttled *store.ThrottledError
	if errors.As(err, &throttled) {
		v.Problems = map[string]string{"email": "too many sign-ups from here or for this address: try again in 15 minutes"}
		c.Response().Header().Set("Retry-After", "900")
		return h.renderSignup(c, http.StatusTooManyRequests, v)
	}
	if err != nil {
		return err
	}
	h.addFlash(c, SessionCookie, signupSent(v.Email))
	return redirectAfterPost(c, "/signup/sent")
}

// SignupSent is where the sign-up form lands: check your inbox.
func (h *Handler) SignupSent(c echo.Context) error {
	return render(c, http.StatusOK, views.SignupSentPage(h.shell(c, "Check your inbox", "")))
}

// VerifyForm shows a verification link's page: one button creates the
// account (a link opened by a mail scanner changes nothing). It says which
// plan starts, and how.
func (h *Handler) VerifyForm(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := h.Store.SignupByToken(ctx, c.Param("token"))
	if err != nil {
		return err
	}
	st, err := h.Store.Pricing(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return render(c, http.StatusOK, views.VerifyPage(h.shell(c, "Create your account", ""),
		views.VerifyView{Token: c.Param("token"), Email: p.Email, Company: p.Company, CSRF: csrfToken(c),
			Start: signupStartView(billing.StartOfSignup(st, p.Plan, h.Clock.Now()))}))
}

// signupWays names billing's ways of starting a plan as the views know them
// (views import no billing).
var signupWays = map[string]string{billing.StartFree: views.SignupFree, billing.StartTrial: views.SignupTrial,
	billing.StartCheckout: views.SignupCheckout}

func signupStartView(s billing.SignupStart) views.SignupStart {
	return views.SignupStart{PlanName: s.Plan.Name, Way: signupWays[s.Way], TrialDays: s.Plan.TrialDays, Seats: s.Seats,
		SeatBased: s.Plan.SeatBased, TrialEnds: s.TrialEnds}
}

// Verify uses the link once: the account is created with the person as
// owner, they are signed in, and the plan they chose starts: free at once,
// a trial without a card, a paid plan through checkout.
func (h *Handler) Verify(c echo.Context) error {
	ctx := c.Request().Context()
	done, err := h.Store.CompleteSignup(ctx, c.Param("token"))
	if err != nil {
		return err
	}
	done.Login.IP = c.RealIP()
	if err := h.newSession(c, done.Login); err != nil {
		return err
	}
	st, err := h.Billing.State(ctx, done.AccountID)
	if err != nil {
		return err
	}
	start := billing.StartOfSignup(st, done.Plan, h.Clock.Now())
	switch start.Way {
	case "":
		h.addFlash(c, SessionCookie, "Your account is ready. Choose a plan to start.")
		return redirectAfterPost(c, "/billing")
	case billing.StartFree, billing.StartTrial:
		_, err := h.Billing.StartFirstPlan(ctx, done.AccountID, billing.FirstPlan{PlanKey: start.Plan.PlanKey,
			Trial: start.Way == billing.StartTrial, Seats: start.Seats, ReturnURL: "/"})
		if err != nil {
			h.log(c).Warn("first plan at sign-up", "err", err)
			h.addFlash(c, SessionCookie, "Your account is ready, but the plan could not start: choose it again on the billing page.")
			return redirectAfterPost(c, "/billing")
		}
		h.addFlash(c, SessionCookie, views.WelcomeMessage(st.Account.Name, signupStartView(start)))
		return redirectAfterPost(c, "/")
	}
	h.addFlash(c, SessionCookie, "Your account is ready. Complete the checkout to start "+start.Plan.Name+".")
	return redirectAfterPost(c, "/billing/checkout?plan="+start.Plan.PlanKey)
}
