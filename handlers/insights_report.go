package handlers

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// The compliance report for auditors: every seat holder, how and
// when they got the seat, last sign-in and use, and the audit entry of the
// assignment; with the account's plans, statuses and grants.

func (h *Handler) complianceReport(c echo.Context) (views.ComplianceReportView, error) {
	cur, _ := Current(c)
	ctx := c.Request().Context()
	v := views.ComplianceReportView{Account: cur.AccountName, At: h.Clock.Now().UTC().Format(time.RFC3339)}
	rows, err := h.Store.ComplianceReport(ctx, cur.AccountID)
	if err != nil {
		return v, err
	}
	state, err := h.Store.AccountState(ctx, cur.AccountID)
	if err != nil {
		return v, err
	}
	for _, p := range state.Products {
		pv := views.ReportProductView{Product: p.ProductName}
		if p.Plan != nil {
			pv.Plan = p.Plan.Name
		}
		if p.Subscription != nil {
			pv.Status = string(p.Subscription.Status)
		}
		for _, g := range p.Grants {
			desc := fmt.Sprintf("%s %s", g.Kind, g.FeatureKey)
			if g.Amount != 0 {
				desc += fmt.Sprintf(" +%d", g.Amount)
			}
			if g.Reason != "" {
				desc += " (" + g.Reason + ")"
			}
			if !g.ExpiresAt.IsZero() {
				desc += " until " + g.ExpiresAt.UTC().Format("2 Jan 2006")
			}
			pv.Grants = append(pv.Grants, desc)
		}
		v.Products = append(v.Products, pv)
	}
	for _, r := range rows {
		v.Rows = append(v.Rows, reportRow(r))
	}
	return v, nil
}

func reportRow(r store.ReportRow) views.ReportRowView {
	out := views.ReportRowView{Email: r.Email, Name: r.Name, Role: r.Role, Product: r.Product, How: r.How(),
		AssignedAt: r.AssignedAt.UTC().Format(time.RFC3339)}
	if r.LastSignInAt.Valid {
		out.LastSignIn = r.LastSignInAt.Time.UTC().Format(time.RFC3339)
	}
	if r.LastUsedAt.Valid {
		out.LastUse = r.LastUsedAt.Time.UTC().Format(time.RFC3339)
	}
	if r.AuditID.Valid {
		out.AuditID = fmt.Sprint(r.AuditID.Int64)
	}
	return out
}

// ComplianceReportPage is the printable report.
func (h *Handler) ComplianceReportPage(c echo.Context) error {
	v, err := h.complianceReport(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ComplianceReportPage(h.shell(c, "Compliance report", "insights"), v))
}

// ComplianceReportCSV is the report as CSV: one row per seat holder.
func (h *Handler) ComplianceReportCSV(c echo.Context) error {
	cur, _ := Current(c)
	v, err := h.complianceReport(c)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("compliance-%s-%s.csv", cur.AccountSlug, h.Clock.Now().UTC().Format("20060102"))
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"email", "name", "role", "product", "how", "assigned_at", "assignment_audit_id", "last_sign_in_at", "last_used_at"})
	for _, r := range v.Rows {
		if err := w.Write(csvSafe(r.Email, r.Name, r.Role, r.Product, r.How, r.AssignedAt, r.AuditID, r.LastSignIn, r.LastUse)); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
