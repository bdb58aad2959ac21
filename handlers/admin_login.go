package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// StaffCookie is the vendor console's own session cookie.
const StaffCookie = "entitle_staff"

const ctxStaff = "entitle.staff"

// SetCurrentStaff records the signed-in staff member for the request.
func SetCurrentStaff(c echo.Context, s store.StaffSession) { c.Set(ctxStaff, s) }

// CurrentStaff is the signed-in staff member, if any.
func CurrentStaff(c echo.Context) (store.StaffSession, bool) {
	s, ok := c.Get(ctxStaff).(store.StaffSession)
	return s, ok
}

// StaffToken reads the staff session token from its signed cookie.
func (h *Handler) StaffToken(c echo.Context) string {
	sess, err := h.Sessions.Get(c.Request(), StaffCookie)
	if err != nil {
		return ""
	}
	tok, _ := sess.Values[sessionToken].(string)
	return tok
}

// adminShell builds the console layout's data: the navigation the staff
// member's role may open, a flash left by a redirect, and the support
// session they are running, if any.
func (h *Handler) adminShell(c echo.Context, title, active string) views.AdminShell {
	s := views.AdminShell{Title: title, Active: active}
	s.CSRF, _ = c.Get(ctxCSRF).(string)
	if st, ok := CurrentStaff(c); ok {
		s.Staff = &views.Staff{Email: st.Email, Name: st.Name, Role: st.Role}
		for _, item := range views.AdminNav {
			if st.Can(consoleNavCapability[item.Key]) {
				s.Nav = append(s.Nav, item)
			}
		}
		s.Notice = h.takeNotice(c)
		if imp, err := h.Store.ImpersonationByStaffToken(c.Request().Context(), h.StaffToken(c)); err == nil {
			s.Impersonating = impersonationBanner(imp, h.Clock.Now())
		}
	}
	return s
}

// consoleNavCapability is what each console navigation item needs.
var consoleNavCapability = map[string]store.StaffCapability{
	"accounts": store.CanFindAccounts,
	"billing":  store.CanSimulateBilling,
	"events":   store.CanManageEvents,
	"outbox":   store.CanReadOutbox,
	"audit":    store.CanReadAudit,
	"staff":    store.CanManageStaff,
	"insights": store.CanViewInsights, // insights
	"webhooks": store.CanManageWebhooks,
	"api-keys": store.CanManageVendorKeys,
	"catalog":  store.CanManageCatalog,
}

// AdminLoginForm shows the console's sign-in page.
func (h *Handler) AdminLoginForm(c echo.Context) error {
	if _, ok := CurrentStaff(c); ok {
		return c.Redirect(http.StatusSeeOther, "/admin")
	}
	return render(c, http.StatusOK, views.AdminLoginPage(h.adminShell(c, "Staff sign in", ""), "", ""))
}

// AdminLogin signs a staff member in with a fresh session token.
func (h *Handler) AdminLogin(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	staff, err := h.Store.AuthenticateStaff(c.Request().Context(), email, c.FormValue("password"), c.RealIP())
	if err != nil {
		status, message, ok := signInRefusal(c, err)
		if !ok {
			return err
		}
		h.log(c).Info("staff sign-in refused", "status", status)
		return render(c, status, views.AdminLoginPage(h.adminShell(c, "Staff sign in", ""), email, message))
	}
	return h.startStaffSession(c, staff)
}

// AdminLogout ends the staff session.
func (h *Handler) AdminLogout(c echo.Context) error {
	if tok := h.StaffToken(c); tok != "" {
		// Ends the impersonation it carries too, in one transaction.
		if err := h.Store.EndStaffSession(c.Request().Context(), tok); err != nil {
			return err
		}
	}
	if err := h.endSession(c, StaffCookie, ""); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/login")
}
