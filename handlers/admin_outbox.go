package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/views"
)

// AdminOutbox lists the mail that would have been sent while SMTP is not
// configured.
func (h *Handler) AdminOutbox(c echo.Context) error {
	mails, err := h.Store.ConsoleOutbox(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	out := make([]views.AdminMail, 0, len(mails))
	for _, m := range mails {
		out = append(out, views.AdminMail{ID: m.ID, Account: m.AccountSlug.String, To: m.To, Subject: m.Subject,
			Body: m.Body, CreatedAt: m.CreatedAt, SentAt: m.SentAt.Time})
	}
	return render(c, http.StatusOK, views.AdminOutboxPage(h.adminShell(c, "Mail outbox", "outbox"), out))
}
