package handlers

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

const consoleAuditPageSize = 50

// consoleAuditFilter reads the audit log's filters from the query string; dates
// are whole UTC days, "to" included.
func consoleAuditFilter(c echo.Context) (store.ConsoleAuditFilter, url.Values, error) {
	f := store.ConsoleAuditFilter{Account: c.QueryParam("account"), Actor: c.QueryParam("actor"),
		Action: c.QueryParam("action")}
	kept := url.Values{}
	for _, k := range []string{"account", "actor", "action", "from", "to"} {
		if v := strings.TrimSpace(c.QueryParam(k)); v != "" {
			kept.Set(k, v)
		}
	}
	if raw := kept.Get("from"); raw != "" {
		t, err := time.Parse(consoleDateLayout, raw)
		if err != nil {
			return f, kept, store.Invalid("from", "enter a date such as 2030-01-31")
		}
		f.From = t
	}
	if raw := kept.Get("to"); raw != "" {
		t, err := time.Parse(consoleDateLayout, raw)
		if err != nil {
			return f, kept, store.Invalid("to", "enter a date such as 2030-01-31")
		}
		f.To = t.AddDate(0, 0, 1)
	}
	f.BeforeID, _ = strconv.ParseInt(c.QueryParam("before"), 10, 64)
	return f, kept, nil
}

// AdminAudit is the global audit log with filters, paged by entry id.
func (h *Handler) AdminAudit(c echo.Context) error {
	f, kept, err := consoleAuditFilter(c)
	if err != nil {
		return err
	}
	f.Limit = consoleAuditPageSize
	rows, err := h.Store.ConsoleAudit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	v := views.AdminAudit{Account: kept.Get("account"), Actor: kept.Get("actor"), Action: kept.Get("action"),
		From: kept.Get("from"), To: kept.Get("to"), CSVURL: "/admin/audit.csv?" + kept.Encode()}
	for _, r := range rows {
		v.Rows = append(v.Rows, consoleAuditRow(r))
	}
	if len(rows) == consoleAuditPageSize {
		next := url.Values{}
		for k, vs := range kept {
			next[k] = vs
		}
		next.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		v.NextURL = "/admin/audit?" + next.Encode()
	}
	return render(c, http.StatusOK, views.AdminAuditPage(h.adminShell(c, "Audit log", "audit"), v))
}

// AdminAuditCSV exports every entry matching the filters as CSV, streamed.
func (h *Handler) AdminAuditCSV(c echo.Context) error {
	f, _, err := consoleAuditFilter(c)
	if err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="entitle-audit-`+h.Clock.Now().UTC().Format("20060102-150405")+`.csv"`)
	w := csv.NewWriter(res)
	header := []string{"id", "at", "account", "seq", "actor_type", "actor_id", "actor", "impersonator", "action",
		"target_type", "target_id", "before", "after", "hash"}
	if err := w.Write(header); err != nil {
		return err
	}
	err = h.Store.EachConsoleAudit(c.Request().Context(), f, func(r store.ConsoleAuditRow) error {
		return w.Write(consoleCSVSafe([]string{strconv.FormatInt(r.ID, 10), r.At.UTC().Format(time.RFC3339Nano), r.AccountSlug,
			strconv.FormatInt(r.Seq, 10), r.ActorType, r.ActorID, r.ActorLabel, r.Impersonator, r.Action, r.TargetType,
			r.TargetID, string(r.Before), string(r.After), r.Hash}))
	})
	w.Flush()
	if err != nil {
		// Headers are sent: the truncated file is the signal; log the cause.
		h.Logger.Error("audit csv export", "err", err)
		return nil
	}
	return w.Error()
}

// consoleCSVSafe keeps spreadsheet programs from running a cell as a formula.
func consoleCSVSafe(cells []string) []string {
	for i, v := range cells {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			cells[i] = "'" + v
		}
	}
	return cells
}

// VerifyAudit runs the same check as `entitle audit verify`.
func (h *Handler) VerifyAudit(c echo.Context) error {
	brk, n, err := h.Store.VerifyAudit(c.Request().Context())
	if err != nil {
		return err
	}
	r := views.AdminVerifyResult{OK: brk == nil, Entries: n}
	if brk != nil {
		r.Problem = brk.String()
	}
	h.Logger.Info("audit chain verified from the console", "ok", r.OK, "entries", n)
	return render(c, http.StatusOK, views.AdminVerifyResultView(r))
}

func consoleAuditRow(r store.ConsoleAuditRow) views.AdminAuditRow {
	f := auditFacts(r.AuditEntry)
	row := views.AdminAuditRow{ID: r.ID, Seq: r.Seq, Account: r.AccountSlug, At: r.At, ActorType: r.ActorType,
		Actor: r.ActorLabel, Impersonator: r.Impersonator, Action: r.Action,
		Sentence: views.AuditSentence(f), Changes: views.AuditChanges(f)}
	if row.Actor == "" {
		row.Actor = r.ActorID
	}
	return row
}
