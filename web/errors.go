package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// errorHandler is the one error path: handlers return errors, and this maps
// sentinel and typed errors to a status and a sentence a person
// understands. Anything unexpected is logged with the request id and shown
// as a plain "something went wrong".
func errorHandler(h *handlers.Handler, logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		// A client that stopped waiting is not the server failing, and
		// no answer can reach it.
		if handlers.ClientGone(c, err) {
			c.Response().Status = handlers.StatusClientGone
			return
		}
		// Identity providers read SCIM error documents.
		if isSCIM(c.Request().URL.Path) {
			h.RenderSCIMError(c, err)
			return
		}
		// Vendors' applications read problem documents.
		if handlers.IsAPIRequest(c) {
			p := handlers.ProblemFor(err)
			if p.Status >= 500 {
				requestLogger(c, logger).Error("api request failed", "err", err,
					"method", c.Request().Method, "path", c.Request().URL.Path)
			}
			if rerr := h.RenderProblem(c, p); rerr != nil {
				logger.Error("render problem", "err", rerr)
			}
			return
		}
		status, message := classify(err)
		if status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", "60")
		}
		if status >= 500 {
			requestLogger(c, logger).Error("request failed", "err", err,
				"method", c.Request().Method, "path", c.Request().URL.Path)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		// A refused form stays on its page: the message beside the field
		// and the input kept (Post/Redirect/Get for plain posts; htmx gets
		// the fragment with the field messages).
		var fields map[string]string
		if ve := (*store.ValidationError)(nil); errors.As(err, &ve) {
			fields = ve.Fields
		}
		if status < 500 && status != http.StatusNotFound && h.FormRefused(c, message, fields) {
			return
		}
		if rerr := h.RenderError(c, status, message, fields); rerr != nil {
			logger.Error("render error page", "err", rerr)
		}
	}
}

func classify(err error) (int, string) {
	var he *echo.HTTPError
	var ve *store.ValidationError
	var pe *billing.ProviderError
	switch {
	case store.IsUnavailable(err):
		return http.StatusServiceUnavailable, "Entitle cannot reach its database; try again in a minute."
	case errors.As(err, &pe) && pe.Declined: // the buyer can act: update the payment method
		return http.StatusPaymentRequired, pe.Message
	case errors.As(err, &pe): // billing: the provider refused; its words are for the buyer
		return http.StatusBadGateway, pe.Message
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "That page or record does not exist, or it belongs to another account."
	case errors.Is(err, store.ErrForbidden):
		return http.StatusForbidden, "Your role does not allow this."
	case errors.Is(err, store.ErrNoSeatLeft):
		return http.StatusConflict, "No seat left: every purchased seat is assigned. Unassign one or buy more seats."
	case errors.Is(err, store.ErrLastOwner):
		return http.StatusConflict, "An account needs at least one active owner: make someone else owner first."
	case errors.Is(err, store.ErrInvitationInvalid):
		return http.StatusGone, "This invitation link no longer works: it was used, replaced by a newer one, or it expired. Ask for a new invitation."
	case errors.Is(err, store.ErrLinkInvalid):
		return http.StatusGone, "This link no longer works: it was already used, replaced by a newer one, or it expired. Nothing was changed; ask for a new one."
	// Provisioning.
	case errors.Is(err, store.ErrManagedByIdP):
		return http.StatusConflict, "This member is managed by your identity provider: change them there, or through the provisioning rules."
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "That change conflicts with the current state. Reload and try again."
	// Support sessions.
	case errors.Is(err, store.ErrReadOnlyImpersonation):
		return http.StatusForbidden, "This is a read-only support session: changes are refused. End the session from the banner, " +
			"or start a write session (it needs the support_admin role and the customer's consent)."
	case errors.Is(err, store.ErrNoSupportConsent):
		return http.StatusForbidden, "Write access needs the customer's consent: an owner of the account must allow it under " +
			"Support access. Start a read-only session instead."
	case errors.Is(err, licensing.ErrUnknownFeature):
		return http.StatusNotFound, "That feature does not exist."
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, handlers.RefusalMessage(ve)
	case errors.As(err, &he):
		if he.Code == http.StatusNotFound {
			return he.Code, "That page does not exist."
		}
		if msg, ok := he.Message.(string); ok && he.Code < 500 {
			return he.Code, msg
		}
		return he.Code, http.StatusText(he.Code)
	}
	return http.StatusInternalServerError, "Something went wrong on our side. It has been logged; please try again."
}
