package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// apiLease is a lease as the API writes it. ID is the lease's token: the
// application heartbeats and checks in with it.
type apiLease struct {
	ID           string    `json:"id"`
	Account      string    `json:"account"`
	Feature      string    `json:"feature"`
	User         string    `json:"user"`
	Machine      string    `json:"machine"`
	TTLSeconds   int       `json:"ttl_seconds"`
	CheckedOutAt time.Time `json:"checked_out_at"`
	ExpiresAt    time.Time `json:"expires_at"`
}

func newAPILease(account string, l store.Lease) apiLease {
	return apiLease{ID: l.Token, Account: account, Feature: l.Feature, User: l.User, Machine: l.Machine,
		TTLSeconds: l.TTLSeconds, CheckedOutAt: l.CheckedOutAt, ExpiresAt: l.ExpiresAt}
}

// decodeAPIBody reads a JSON object strictly into v.
func decodeAPIBody(c echo.Context, v any, shape string) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problemInvalid("The body must be a JSON object "+shape+": "+err.Error(), nil)
	}
	return nil
}

// APICheckOutLease answers POST /api/v1/accounts/:account/leases: takes a
// slot of a concurrent feature's pool (201), or 409 pool-full with the time
// the soonest lease expires.
func (h *Handler) APICheckOutLease(c echo.Context) error {
	key := APIKeyOf(c)
	var body struct {
		Feature string `json:"feature"`
		User    string `json:"user"`
		Machine string `json:"machine"`
	}
	if err := decodeAPIBody(c, &body, `{"feature": "<key>", "user": "<optional>", "machine": "<optional>"}`); err != nil {
		return err
	}
	l, err := h.Store.CheckOutLease(c.Request().Context(), key.AccountID,
		store.LeaseRequest{Feature: body.Feature, User: body.User, Machine: body.Machine})
	if err != nil {
		return h.deviceProblem(err)
	}
	return c.JSON(http.StatusCreated, newAPILease(key.AccountSlug, l))
}

// APIHeartbeatLease answers POST .../leases/:lease/heartbeat: renews the
// lease for its TTL, or 410 lease-gone when it expired or was released.
func (h *Handler) APIHeartbeatLease(c echo.Context) error {
	key := APIKeyOf(c)
	ctx := c.Request().Context()
	var l store.Lease
	var err error
	if h.Leases != nil {
		l, err = h.Leases.Heartbeat(ctx, key.AccountID, c.Param("lease"))
	} else if _, err = h.Store.HeartbeatLease(ctx, key.AccountID, c.Param("lease")); err == nil {
		l, err = h.Store.Lease(ctx, key.AccountID, c.Param("lease"))
	}
	if err != nil {
		return h.deviceProblem(err)
	}
	return c.JSON(http.StatusOK, newAPILease(key.AccountSlug, l))
}

// APICheckInLease answers DELETE .../leases/:lease: frees the slot (204,
// also when the lease had already expired or been released).
func (h *Handler) APICheckInLease(c echo.Context) error {
	key := APIKeyOf(c)
	if err := h.Store.CheckInLease(c.Request().Context(), key.AccountID, c.Param("lease")); err != nil {
		return h.deviceProblem(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// APILeases answers GET .../leases: the leases holding a slot now.
func (h *Handler) APILeases(c echo.Context) error {
	key := APIKeyOf(c)
	leases, err := h.Store.LiveLeases(c.Request().Context(), key.AccountID)
	if err != nil {
		return err
	}
	out := struct {
		Leases []apiLease `json:"leases"`
	}{Leases: []apiLease{}}
	for _, l := range leases {
		out.Leases = append(out.Leases, newAPILease(key.AccountSlug, l))
	}
	return c.JSON(http.StatusOK, out)
}

// apiMachine is an activated machine as the API writes it.
type apiMachine struct {
	ID          string     `json:"id"`
	Account     string     `json:"account"`
	Feature     string     `json:"feature"`
	Name        string     `json:"name"`
	Platform    string     `json:"platform"`
	User        *string    `json:"user"`
	ActivatedAt time.Time  `json:"activated_at"`
	LastSeenAt  time.Time  `json:"last_seen_at"`
	Deactivated *time.Time `json:"deactivated_at"`
	// HeartbeatSeconds is the window a machine must be heard from within
	// (0: none); Dead says it has missed it.
	HeartbeatSeconds int  `json:"heartbeat_seconds"`
	Dead             bool `json:"dead"`
}

func newAPIMachine(account string, m store.Machine, now time.Time) apiMachine {
	out := apiMachine{ID: m.PublicID, Account: account, Feature: m.Feature, Name: m.Name, Platform: m.Platform,
		ActivatedAt: m.ActivatedAt, LastSeenAt: m.LastSeenAt, HeartbeatSeconds: m.HeartbeatSeconds, Dead: m.Dead(now)}
	if m.UserEmail.Valid {
		out.User = &m.UserEmail.String
	}
	if m.DeactivatedAt.Valid {
		out.Deactivated = &m.DeactivatedAt.Time
	}
	return out
}

// APIActivateMachine answers POST /api/v1/accounts/:account/machines:
// activates the machine (201) or finds it already active (200), with its
// machine licence; 409 machine-limit-reached over the plan's limit.
func (h *Handler) APIActivateMachine(c echo.Context) error {
	key := APIKeyOf(c)
	var body struct {
		Fingerprint string `json:"fingerprint"`
		Name        string `json:"name"`
		Platform    string `json:"platform"`
		User        string `json:"user"`
		Feature     string `json:"feature"`
	}
	if err := decodeAPIBody(c, &body, `{"fingerprint", "name", "platform", "user", "feature"}`); err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, created, err := h.Store.ActivateMachine(ctx, key.Actor(), key.AccountID, store.MachineRequest{
		Fingerprint: body.Fingerprint, Name: body.Name, Platform: body.Platform, User: body.User, Feature: body.Feature})
	if err != nil {
		return h.deviceProblem(err)
	}
	file, _, err := h.Store.MachineLicence(ctx, key.AccountID, m.PublicID, "", h.Licences)
	if err != nil {
		return h.deviceProblem(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, struct {
		Machine apiMachine      `json:"machine"`
		Licence json.RawMessage `json:"licence"`
	}{newAPIMachine(key.AccountSlug, m, h.Clock.Now()), file})
}

// APIMachines answers GET .../machines: the active machines.
func (h *Handler) APIMachines(c echo.Context) error {
	key := APIKeyOf(c)
	machines, err := h.Store.ActiveMachines(c.Request().Context(), key.AccountID, 0)
	if err != nil {
		return err
	}
	out := struct {
		Machines []apiMachine `json:"machines"`
	}{Machines: []apiMachine{}}
	for _, m := range machines {
		out.Machines = append(out.Machines, newAPIMachine(key.AccountSlug, m, h.Clock.Now()))
	}
	return c.JSON(http.StatusOK, out)
}

// APIMachineHeartbeat answers POST .../machines/:machine/heartbeat: records
// the machine alive, or 410 machine-deactivated.
func (h *Handler) APIMachineHeartbeat(c echo.Context) error {
	key := APIKeyOf(c)
	m, err := h.Store.MachineHeartbeat(c.Request().Context(), key.AccountID, c.Param("machine"))
	if err != nil {
		return h.deviceProblem(err)
	}
	return c.JSON(http.StatusOK, newAPIMachine(key.AccountSlug, m, h.Clock.Now()))
}

// APIDeactivateMachine answers DELETE .../machines/:machine (204), audited.
func (h *Handler) APIDeactivateMachine(c echo.Context) error {
	key := APIKeyOf(c)
	if err := h.Store.DeactivateMachine(c.Request().Context(), key.Actor(), key.AccountID, c.Param("machine")); err != nil {
		return h.deviceProblem(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// APIMachineLicence answers GET .../machines/:machine/license: a fresh
// machine licence for an active machine.
func (h *Handler) APIMachineLicence(c echo.Context) error {
	key := APIKeyOf(c)
	file, m, err := h.Store.MachineLicence(c.Request().Context(), key.AccountID, c.Param("machine"), "", h.Licences)
	if err != nil {
		return h.deviceProblem(err)
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+m.PublicID+`.licence.json"`)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, file)
}

// deviceProblem turns the store's answers about leases and machines into
// their problem documents; anything else goes to ProblemFor unchanged.
func (h *Handler) deviceProblem(err error) error {
	var refused *store.DeviceRefusedError
	var gone *store.LeaseGoneError
	switch {
	case errors.As(err, &refused):
		d := refused.Decision
		var p *Problem
		switch {
		case refused.Full() && refused.Kind == licensing.Concurrent:
			p = problem(http.StatusConflict, "pool-full", "Every floating licence is in use",
				fmt.Sprintf("All %s leases of %s are checked out.", limitText(d.Limit), refused.Feature))
			if !refused.NextExpiry.IsZero() {
				next := refused.NextExpiry.UTC()
				p.NextExpiry = &next
				p.Detail += " The soonest expires at " + next.Format(time.RFC3339) + " unless renewed."
				p.retryAfter = max(next.Sub(h.Clock.Now()), time.Second)
			}
		case refused.Full():
			p = problem(http.StatusConflict, "machine-limit-reached", "Machine limit reached", machineLimitSentence(refused))
		default:
			p = problem(http.StatusForbidden, "no-access", "The account has no access to this feature",
				fmt.Sprintf("%s refused: %s.", refused.Feature, d.Reason))
		}
		p.Reason, p.Decision = d.Reason, &d
		return p
	case errors.As(err, &gone):
		p := problem(http.StatusGone, "lease-gone", "The lease no longer holds a licence",
			leaseGoneSentence(gone.Reason)+" Stop using the feature or check out a new lease.")
		return p
	case errors.Is(err, store.ErrMachineDead):
		return problem(http.StatusGone, "machine-deactivated", "The machine was deactivated",
			"This machine was not heard from within its heartbeat window, so its activation was removed; activate it again to use it.")
	case errors.Is(err, store.ErrMachineDeactivated):
		return problem(http.StatusGone, "machine-deactivated", "The machine was deactivated",
			"This machine's activation was removed; activate it again to use it.")
	}
	return err
}

// leaseGoneSentence says in words why a lease stopped holding a licence.
func leaseGoneSentence(reason string) string {
	switch reason {
	case "expired":
		return "The lease expired because it was not renewed in time."
	case "checked_in":
		return "The lease was already checked in."
	case "forced":
		return "An administrator released the lease from the portal."
	}
	return "The lease no longer holds a licence."
}

func limitText(limit *int64) string {
	if limit == nil {
		return "unlimited"
	}
	return fmt.Sprint(*limit)
}

// machineLimitSentence names the machine limit a refused activation ran
// into, for the API's problem and the portal's form alike.
func machineLimitSentence(r *store.DeviceRefusedError) string {
	per := "for the account"
	if r.Per == licensing.PerSeat {
		per = "per seat holder"
	}
	return fmt.Sprintf("The plan allows %s machines %s (%s), and all are active: deactivate one first.", limitText(r.Decision.Limit), per, r.Feature)
}
