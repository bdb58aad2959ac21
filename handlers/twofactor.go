package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/twofactor"
	"github.com/entitle-dev/entitle/views"
)

// A sign-in that passed the password and waits for the code is kept in the
// (signed) cookie for a few minutes: no session exists until the code.
const (
	pendingLogin   = "pending_login" // staff id, or customer user id
	pendingAccount = "pending_account"
	pendingMember  = "pending_membership"
	pendingUntil   = "pending_until"
	pendingWindow  = 5 * time.Minute
	recoveryCodes  = 10
)

// savePending remembers a half-done sign-in in cookie.
func (h *Handler) savePending(c echo.Context, cookie string, id, accountID, membershipID int64) error {
	sess, _ := h.Sessions.Get(c.Request(), cookie)
	sess.Values = map[any]any{pendingLogin: id, pendingAccount: accountID, pendingMember: membershipID,
		pendingUntil: h.Clock.Now().Add(pendingWindow).Unix()}
	return sess.Save(c.Request(), c.Response())
}

// pending reads a half-done sign-in; ok is false when there is none or it
// lapsed.
func (h *Handler) pending(c echo.Context, cookie string) (id, accountID, membershipID int64, ok bool) {
	sess, err := h.Sessions.Get(c.Request(), cookie)
	if err != nil {
		return 0, 0, 0, false
	}
	id, _ = sess.Values[pendingLogin].(int64)
	accountID, _ = sess.Values[pendingAccount].(int64)
	membershipID, _ = sess.Values[pendingMember].(int64)
	until, _ := sess.Values[pendingUntil].(int64)
	return id, accountID, membershipID, id != 0 && h.Clock.Now().Unix() < until
}

// checkCode checks a TOTP code (or a recovery code) for owner: "" when it
// is accepted, else the sentence to show beside the field. A code is
// accepted once in its time step; wrong codes are throttled.
func (h *Handler) checkCode(c echo.Context, owner store.TwoFactorOwner, code string) (string, int, error) {
	ctx := c.Request().Context()
	if err := h.Store.CheckCodeThrottle(ctx, owner); err != nil {
		c.Response().Header().Set("Retry-After", "900")
		return "Too many wrong codes. Try again in 15 minutes.", http.StatusTooManyRequests, nil
	}
	state, err := h.Store.TwoFactorState(ctx, owner)
	if err != nil {
		return "", 0, err
	}
	code = strings.TrimSpace(code)
	if len(code) > 40 {
		code = code[:40]
	}
	if step, ok := twofactor.Match(state.Secret, code, h.Clock.Now()); ok && state.Enabled() {
		err := h.Store.UseTOTPStep(ctx, owner, step)
		if errors.Is(err, store.ErrCodeReused) {
			return "That code was already used. Wait for the next code in your app.", http.StatusUnauthorized, nil
		}
		return "", http.StatusOK, err
	}
	if strings.Contains(code, "-") && state.Enabled() {
		err := h.Store.UseRecoveryCode(ctx, owner, twofactor.HashRecoveryCode(code))
		if err == nil {
			return "", http.StatusOK, nil
		}
		if !errors.Is(err, store.ErrBadCredentials) {
			return "", 0, err
		}
	}
	if err := h.Store.RecordWrongCode(ctx, owner); err != nil {
		return "", 0, err
	}
	return "That code is not right. Enter the 6-digit code your app shows now, or a recovery code.", http.StatusUnauthorized, nil
}

// enrolment is the pending secret's QR code and text for owner, made (and
// kept) on first view.
func (h *Handler) enrolment(c echo.Context, owner store.TwoFactorOwner) (twofactor.Enrolment, error) {
	ctx := c.Request().Context()
	state, err := h.Store.TwoFactorState(ctx, owner)
	if err != nil {
		return twofactor.Enrolment{}, err
	}
	if state.Secret != "" {
		return twofactor.EnrolmentFor(state.Secret, owner.Email)
	}
	e, err := twofactor.NewEnrolment(owner.Email)
	if err != nil {
		return e, err
	}
	return e, h.Store.SetPendingTOTP(ctx, owner, e.Secret)
}

// confirmEnrolment checks the first code of the pending secret and turns
// two-factor on; it returns the recovery codes to show once, or the problem
// to show beside the field.
func (h *Handler) confirmEnrolment(c echo.Context, owner store.TwoFactorOwner, code string) ([]string, string, error) {
	ctx := c.Request().Context()
	state, err := h.Store.TwoFactorState(ctx, owner)
	if err != nil {
		return nil, "", err
	}
	if state.Enabled() {
		return nil, "", store.ErrConflict
	}
	step, ok := twofactor.Match(state.Secret, code, h.Clock.Now())
	if state.Secret == "" || !ok {
		return nil, "That code is not right: scan the QR code again and enter the 6-digit code your app shows now.", nil
	}
	codes, err := twofactor.RecoveryCodes(recoveryCodes)
	if err != nil {
		return nil, "", err
	}
	hashes := make([][]byte, len(codes))
	for i, rc := range codes {
		hashes[i] = twofactor.HashRecoveryCode(rc)
	}
	return codes, "", h.Store.EnableTOTP(ctx, owner, step, hashes)
}

func customerOwner(cur store.Session) store.TwoFactorOwner {
	return store.TwoFactorOwner{ID: cur.UserID, Email: cur.Email}
}

// LoginCodeForm asks a customer with two-factor for their code.
func (h *Handler) LoginCodeForm(c echo.Context) error {
	if _, _, _, ok := h.pending(c, SessionCookie); !ok {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return render(c, http.StatusOK, views.CodePage(h.shell(c, "Two-factor code", ""), views.CodeView{Action: "/login/code", CSRF: csrfToken(c)}))
}

// LoginCode finishes a customer's sign-in with their code.
func (h *Handler) LoginCode(c echo.Context) error {
	userID, accountID, membershipID, ok := h.pending(c, SessionCookie)
	if !ok {
		h.addFlash(c, SessionCookie, "Your sign-in took too long: enter your password again.")
		return redirectAfterPost(c, "/login")
	}
	problem, status, err := h.checkCode(c, store.TwoFactorOwner{ID: userID}, c.FormValue("code"))
	if err != nil {
		return err
	}
	if problem != "" {
		return render(c, status, views.CodePage(h.shell(c, "Two-factor code", ""),
			views.CodeView{Action: "/login/code", Problem: problem, CSRF: csrfToken(c)}))
	}
	return h.finishSession(c, store.Login{UserID: userID, AccountID: accountID, MembershipID: membershipID, IP: c.RealIP()})
}

// ProfileTwoFactor shows the customer's enrolment (QR code) or its state.
func (h *Handler) ProfileTwoFactor(c echo.Context) error {
	cur, _ := Current(c)
	owner := customerOwner(cur)
	on, err := h.Store.PersonHasTOTP(c.Request().Context(), cur.UserID)
	if err != nil || on {
		if err == nil {
			err = redirectAfterPost(c, "/profile")
		}
		return err
	}
	e, err := h.enrolment(c, owner)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.EnrolPage(h.shell(c, "Two-factor sign-in", "profile"),
		views.EnrolView{Action: "/profile/two-factor", QR: e.QR, Secret: e.Secret, CSRF: csrfToken(c), Back: "/profile"}))
}

// EnableProfileTwoFactor confirms the customer's first code.
func (h *Handler) EnableProfileTwoFactor(c echo.Context) error {
	cur, _ := Current(c)
	codes, problem, err := h.confirmEnrolment(c, customerOwner(cur), c.FormValue("code"))
	if err != nil {
		return err
	}
	if problem != "" {
		e, err := h.enrolment(c, customerOwner(cur))
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, views.EnrolPage(h.shell(c, "Two-factor sign-in", "profile"),
			views.EnrolView{Action: "/profile/two-factor", QR: e.QR, Secret: e.Secret, Problem: problem, CSRF: csrfToken(c), Back: "/profile"}))
	}
	// The recovery codes are shown once, on this answer, like a new API key.
	return render(c, http.StatusOK, views.RecoveryCodesPage(h.shell(c, "Two-factor sign-in", "profile"), codes, "/profile"))
}

// DisableProfileTwoFactor turns the customer's two-factor off, with a
// current code.
func (h *Handler) DisableProfileTwoFactor(c echo.Context) error {
	cur, _ := Current(c)
	problem, status, err := h.checkCode(c, customerOwner(cur), c.FormValue("code"))
	if err != nil {
		return err
	}
	if problem != "" {
		return h.renderProfile(c, status, views.ProfileView{Problems: map[string]string{"code": problem}})
	}
	if err := h.Store.DisableTOTP(c.Request().Context(), customerOwner(cur)); err != nil {
		return err
	}
	h.addFlash(c, SessionCookie, "Two-factor sign-in is off.")
	return redirectAfterPost(c, "/profile")
}
