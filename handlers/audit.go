package handlers

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// Audit lists the account's audit log, newest first, filtered by actor,
// action and dates.
func (h *Handler) Audit(c echo.Context) error {
	cur, _ := Current(c)
	ctx := c.Request().Context()
	vf, f, err := auditFilter(c)
	if err != nil {
		return err
	}
	f.Before = c.QueryParam("before")
	page, err := h.Store.AuditLog(ctx, cur.AccountID, f)
	if err != nil {
		return err
	}
	actions, err := h.Store.AuditActions(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	v := views.AuditView{Filter: vf, Actions: actions, Next: page.Next}
	for _, e := range page.Entries {
		f := auditFacts(e)
		v.Entries = append(v.Entries, views.AuditRow{At: e.At.UTC().Format("2006-01-02 15:04:05"), Actor: actorText(e),
			Impersonator: e.Impersonator, Action: e.Action, Sentence: views.AuditSentence(f), Changes: views.AuditChanges(f)})
	}
	return render(c, http.StatusOK, views.AuditPage(h.shell(c, "Audit log", "audit"), v))
}

// ExportAudit streams the filtered log as CSV.
func (h *Handler) ExportAudit(c echo.Context) error {
	cur, _ := Current(c)
	_, f, err := auditFilter(c)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("audit-%s-%s.csv", cur.AccountSlug, h.Clock.Now().UTC().Format("20060102"))
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"at", "actor_type", "actor_id", "actor", "impersonator", "action", "target_type", "target_id", "before", "after", "seq", "hash"})
	err = h.Store.ExportAudit(c.Request().Context(), cur.AccountID, f, func(e store.AuditEntry) error {
		return w.Write(csvSafe(e.At.UTC().Format(time.RFC3339Nano), e.ActorType, e.ActorID, e.ActorLabel, e.Impersonator,
			e.Action, e.TargetType, e.TargetID, string(e.Before), string(e.After), fmt.Sprint(e.Seq), e.Hash))
	})
	w.Flush()
	if err != nil {
		// The status is sent already: log it, and end the file short.
		h.Logger.Error("audit export", "err", err, "account_id", cur.AccountID)
	}
	return w.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(cells ...string) []string {
	for i, s := range cells {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	return cells
}

// auditFilter reads the filter form; dates are days in UTC, both included.
func auditFilter(c echo.Context) (views.AuditFilter, store.AuditFilter, error) {
	vf := views.AuditFilter{Actor: c.QueryParam("actor"), Action: c.QueryParam("action"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	f := store.AuditFilter{Actor: vf.Actor, Action: vf.Action}
	if vf.From != "" {
		t, err := time.Parse("2006-01-02", vf.From)
		if err != nil {
			return vf, f, store.Invalid("from", "give the date as YYYY-MM-DD")
		}
		f.From = t
	}
	if vf.To != "" {
		t, err := time.Parse("2006-01-02", vf.To)
		if err != nil {
			return vf, f, store.Invalid("to", "give the date as YYYY-MM-DD")
		}
		f.To = t.AddDate(0, 0, 1)
	}
	return vf, f, nil
}

func actorText(e store.AuditEntry) string {
	if e.ActorLabel != "" {
		return e.ActorLabel
	}
	return e.ActorType
}

// auditFacts is an entry as its words need it.
func auditFacts(e store.AuditEntry) views.AuditFacts {
	return views.AuditFacts{Action: e.Action, ActorType: e.ActorType, ActorID: e.ActorID, ActorLabel: e.ActorLabel,
		Impersonator: e.Impersonator, TargetType: e.TargetType, TargetID: e.TargetID, Before: e.Before, After: e.After}
}
