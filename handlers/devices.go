package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// maxActivationRequest bounds an uploaded activation request file.
const maxActivationRequest = 64 << 10

// Devices shows the machines (the account's for admins, one's own for
// members) and, for admins, the floating licences in use; htmx polls get
// the live part only.
func (h *Handler) Devices(c echo.Context) error {
	cur, _ := Current(c)
	v := views.DevicesView{}
	if id := c.QueryParam("activated"); id != "" && !isHTMX(c) {
		m, err := h.Store.Machine(c.Request().Context(), cur.AccountID, id)
		if err == nil && !m.DeactivatedAt.Valid {
			row := machineRow(m, h.Clock.Now())
			v.Activated, v.Nonce = &row, url.QueryEscape(c.QueryParam("nonce"))
		}
	}
	h.showFlash(c)
	return h.renderDevices(c, cur, http.StatusOK, v)
}

func (h *Handler) renderDevices(c echo.Context, cur store.Session, status int, v views.DevicesView) error {
	ctx := c.Request().Context()
	v.Admin = licensing.Can(licensing.Role(cur.Role), licensing.ManageDevices)
	only := cur.MembershipID
	if v.Admin {
		only = 0
	}
	machines, err := h.Store.ActiveMachines(ctx, cur.AccountID, only)
	if err != nil {
		return err
	}
	for _, m := range machines {
		v.Machines = append(v.Machines, machineRow(m, h.Clock.Now()))
	}
	if v.Admin {
		leases, err := h.Store.LiveLeases(ctx, cur.AccountID)
		if err != nil {
			return err
		}
		for _, l := range leases {
			v.Leases = append(v.Leases, views.LeaseRow{ID: l.ID, Feature: l.FeatureName, User: l.User, Machine: l.Machine,
				CheckedOutAt: l.CheckedOutAt, ExpiresAt: l.ExpiresAt})
		}
	}
	if isHTMX(c) {
		csrf, _ := c.Get(ctxCSRF).(string)
		return render(c, status, views.DevicesLive(v, csrf))
	}
	if v.Admin {
		pools, err := h.Store.LeaseUsage(ctx, cur.AccountID, 14, nil)
		if err != nil {
			return err
		}
		for _, p := range pools {
			row := views.PoolUsageRow{Name: p.Name, Pool: p.Pool, InUse: p.InUse}
			for i := len(p.Days) - 1; i >= 0; i-- {
				if d := p.Days[i]; d.Peak > 0 || d.Denials > 0 {
					row.Days = append(row.Days, views.PoolDayRow{Day: d.Day, Peak: d.Peak, Denials: d.Denials})
				}
			}
			v.Pools = append(v.Pools, row)
		}
	}
	return render(c, status, views.DevicesPage(h.shell(c, "Devices", "devices"), v))
}

func machineRow(m store.Machine, now time.Time) views.MachineRow {
	return views.MachineRow{ID: m.PublicID, Name: m.Name, Platform: m.Platform, User: m.UserEmail.String, Feature: m.Feature,
		ActivatedAt: m.ActivatedAt, LastSeenAt: m.LastSeenAt, Dead: m.Dead(now),
		Heartbeat:       licensing.HeartbeatText(m.HeartbeatWindow()),
		DeactivatesDead: m.OnDead == string(licensing.DeactivateDeadMachines)}
}

// DeactivateDevice deactivates a machine: admins any of the account's,
// members their own (the store asks the permission matrix).
func (h *Handler) DeactivateDevice(c echo.Context) error {
	cur, _ := Current(c)
	if err := h.Store.DeactivateMachineAs(c.Request().Context(), cur.Principal(), c.Param("id")); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/devices", "Machine deactivated: its place is free, and the application stops at its next check.")
}

// ReleaseLease force-releases a floating licence lease.
func (h *Handler) ReleaseLease(c echo.Context) error {
	cur, _ := Current(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := h.Store.ForceReleaseLease(c.Request().Context(), cur.Principal(), id); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/devices", "Licence released: the slot is free, and the application is told at its next heartbeat.")
}

// ActivateFromRequest activates the machine an uploaded air-gapped
// activation request describes, then sends the admin to the page that
// offers its machine licence.
func (h *Handler) ActivateFromRequest(c echo.Context) error {
	cur, _ := Current(c)
	refuse := func(msg string) error {
		return h.renderDevices(c, cur, http.StatusUnprocessableEntity, views.DevicesView{UploadError: msg})
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return refuse("Choose the activation request file the application wrote.")
	}
	f, err := fh.Open()
	if err != nil {
		return refuse("The file could not be read; upload it again.")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxActivationRequest+1))
	if err != nil || len(data) > maxActivationRequest {
		return refuse("This file is too large to be an activation request.")
	}
	req, err := licensing.ParseActivationRequest(data)
	if err != nil {
		return refuse("This is not an activation request the application wrote: " + strings.TrimPrefix(err.Error(), licensing.ErrActivationRequest.Error()+": ") + ".")
	}
	m, _, err := h.Store.ActivateMachine(c.Request().Context(), cur.Actor(), cur.AccountID, store.MachineRequest{
		Fingerprint: req.Fingerprint, Name: req.Name, Platform: req.Platform, User: req.User, Feature: req.Feature})
	var refused *store.DeviceRefusedError
	var ve *store.ValidationError
	switch {
	case errors.As(err, &refused) && refused.Full():
		return refuse(machineLimitSentence(refused))
	case errors.As(err, &refused):
		return refuse(fmt.Sprintf("The account has no access to %s (%s).", refused.Feature, refused.Decision.Reason))
	case errors.As(err, &ve):
		msgs := make([]string, 0, len(ve.Fields))
		for field, msg := range ve.Fields {
			msgs = append(msgs, field+": "+msg)
		}
		return refuse("The request was refused: " + strings.Join(msgs, "; ") + ".")
	case err != nil:
		return err
	}
	h.addFlash(c, SessionCookie, m.Name+" is activated.")
	return c.Redirect(http.StatusSeeOther, "/devices?activated="+url.QueryEscape(m.PublicID)+"&nonce="+url.QueryEscape(req.Nonce))
}

// DownloadMachineLicence sends an active machine's licence, echoing the
// activation request's nonce when there was one.
func (h *Handler) DownloadMachineLicence(c echo.Context) error {
	cur, _ := Current(c)
	nonce := c.QueryParam("nonce")
	if len(nonce) > 128 {
		return store.ErrNotFound
	}
	file, m, err := h.Store.MachineLicence(c.Request().Context(), cur.AccountID, c.Param("id"), nonce, h.Licences)
	if errors.Is(err, store.ErrMachineDeactivated) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+m.PublicID+`.licence.json"`)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, file)
}
