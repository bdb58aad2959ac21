package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// migrationSpec reads the move form; problems are per field.
func migrationSpec(f views.AdminMigrationForm) (store.MigrationSpec, map[string]string) {
	errs := map[string]string{}
	var spec store.MigrationSpec
	var ok bool
	spec.ProductKey, spec.PlanKey, ok = strings.Cut(f.Plan, "/")
	if !ok || !slices.Contains(f.Plans, f.Plan) {
		errs["plan"] = "choose a plan of the catalog"
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f.ToVersion)); err != nil || n < 1 {
		errs["to_version"] = "enter a version number such as 2"
	} else {
		spec.ToVersion = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f.NoticeDays)); err != nil || n < 0 {
		errs["notice_days"] = "enter a whole number of days"
	} else {
		spec.NoticeDays = n
		spec.Timing.Notice = time.Duration(n) * 24 * time.Hour
	}
	if at := strings.TrimSpace(f.At); at != "period-end" {
		t, err := time.Parse("2006-01-02", at)
		if err != nil {
			errs["at"] = `enter "period-end" or a date such as 2030-01-31`
		}
		spec.Timing.At = t.UTC()
	}
	for _, slug := range strings.Split(f.Exclude, ",") {
		if slug = strings.TrimSpace(slug); slug != "" {
			spec.Exclude = append(spec.Exclude, slug)
		}
	}
	return spec, errs
}

func (h *Handler) migrationForm(c echo.Context, values func(string) string) (views.AdminMigrationForm, error) {
	stored, err := h.Store.StoredCatalog(c.Request().Context())
	if err != nil {
		return views.AdminMigrationForm{}, err
	}
	f := views.AdminMigrationForm{Plan: values("plan"), ToVersion: values("to_version"), At: values("at"),
		NoticeDays: values("notice_days"), Exclude: values("exclude")}
	for _, p := range stored.Products {
		for _, pl := range p.Plans {
			f.Plans = append(f.Plans, p.Key+"/"+pl.Key)
		}
	}
	if f.At == "" {
		f.At = "period-end"
	}
	if f.NoticeDays == "" {
		f.NoticeDays = "30"
	}
	return f, nil
}

// AdminPlanMigration is the form to move a plan's subscribers to another
// version, and with ?preview=1 what the move would do to each account.
func (h *Handler) AdminPlanMigration(c echo.Context) error {
	f, err := h.migrationForm(c, c.QueryParam)
	if err != nil {
		return err
	}
	v := views.AdminMigration{Form: f}
	status := http.StatusOK
	if c.QueryParam("preview") == "1" {
		spec, errs := migrationSpec(f)
		if len(errs) == 0 {
			err = h.previewMigration(c, spec, &v)
			if errors.Is(err, store.ErrNotFound) {
				errs["to_version"], err = "the plan has no such version", nil
			}
		}
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			v.Form.Errors, status = errs, http.StatusUnprocessableEntity
		}
	}
	return render(c, status, views.AdminMigrationPage(h.adminShell(c, "Move subscribers", "catalog"), v))
}

func (h *Handler) previewMigration(c echo.Context, spec store.MigrationSpec, v *views.AdminMigration) error {
	p, err := h.Store.PreviewPlanMigration(c.Request().Context(), spec)
	if err != nil {
		return err
	}
	v.Previewed, v.ToVersion = true, p.Target.ToVersion
	for _, r := range p.Rows {
		row := views.AdminMigrationRow{Slug: r.Candidate.Slug, Name: r.Candidate.Name, FromVersion: r.Candidate.FromVersion,
			Excluded: r.Excluded, Problem: r.Problem, EffectiveAt: r.EffectiveAt, NotifyAt: r.NotifyAt}
		row.Changes = r.Candidate.Changes
		v.Rows = append(v.Rows, row)
	}
	v.CanMove = len(p.Problems()) == 0 && len(p.Moves()) > 0
	return nil
}

// SchedulePlanMigration schedules the previewed move, audited per account.
func (h *Handler) SchedulePlanMigration(c echo.Context) error {
	f, err := h.migrationForm(c, c.FormValue)
	if err != nil {
		return err
	}
	spec, errs := migrationSpec(f)
	if len(errs) == 0 {
		var p store.MigrationPreview
		p, err = h.Store.PreviewPlanMigration(c.Request().Context(), spec)
		if err == nil {
			var n int
			_, n, err = h.Store.SchedulePreviewedMigration(c.Request().Context(), actorFrom(c), spec, p)
			if err == nil {
				h.addConsoleFlash(c, "Move scheduled for "+strconv.Itoa(n)+" "+map[bool]string{true: "account", false: "accounts"}[n == 1]+
					": owners are mailed on the notice date, then moved.")
				return redirectAfterPost(c, "/admin/catalog/migrate")
			}
		}
		var ve *store.ValidationError
		switch {
		case errors.Is(err, store.ErrMigrationNotice), errors.Is(err, store.ErrConflict):
			errs["at"] = err.Error()
		case errors.Is(err, store.ErrNotFound):
			errs["to_version"] = "the plan has no such version"
		case errors.As(err, &ve):
			for k, msg := range ve.Fields {
				errs[k] = msg
			}
		case err != nil:
			return err
		}
	}
	f.Errors = errs
	return render(c, http.StatusUnprocessableEntity, views.AdminMigrationPage(h.adminShell(c, "Move subscribers", "catalog"), views.AdminMigration{Form: f}))
}
