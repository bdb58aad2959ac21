package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
)

// apiAccount is an account as the accounts API writes it.
type apiAccount struct {
	ID            int64                       `json:"id"`
	Slug          string                      `json:"slug"`
	Name          string                      `json:"name"`
	ExternalID    *string                     `json:"external_id"`
	CreatedAt     time.Time                   `json:"created_at"`
	Subscriptions []store.WebhookSubscription `json:"subscriptions"`
	Entitlements  []apiCheck                  `json:"entitlements,omitempty"` // one account only
}

func newAPIAccount(a store.Account, subs []store.WebhookSubscription) apiAccount {
	out := apiAccount{ID: a.ID, Slug: a.Slug, Name: a.Name, CreatedAt: a.CreatedAt, Subscriptions: subs}
	if a.ExternalID.Valid {
		out.ExternalID = &a.ExternalID.String
	}
	if out.Subscriptions == nil {
		out.Subscriptions = []store.WebhookSubscription{}
	}
	return out
}

// APIListAccounts answers GET /api/v1/accounts (vendor keys): a page of
// accounts by id, filtered by ?plan= and ?status=, continued with
// ?cursor= from next_cursor.
func (h *Handler) APIListAccounts(c echo.Context) error {
	q := c.Request().URL.Query()
	f := store.AccountPageFilter{Plan: q.Get("plan"), Status: q.Get("status"), Limit: 50}
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 200 {
			return problemInvalid("limit must be a whole number from 1 to 200", map[string]string{"limit": "1 to 200"})
		}
		f.Limit = n
	}
	if raw := q.Get("cursor"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			return problemInvalid("cursor must be the next_cursor of the previous page", map[string]string{"cursor": "from next_cursor"})
		}
		f.After = n
	}
	switch f.Status {
	case "", "trialing", "active", "past_due", "suspended", "canceled":
	default:
		return problemInvalid("status must be one of trialing, active, past_due, suspended, canceled",
			map[string]string{"status": "a subscription status"})
	}
	ctx := c.Request().Context()
	accounts, more, err := h.Store.AccountPage(ctx, f)
	if err != nil {
		return err
	}
	ids := make([]int64, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	subs, err := h.Store.AccountsSubscriptions(ctx, ids)
	if err != nil {
		return err
	}
	out := struct {
		Accounts   []apiAccount `json:"accounts"`
		NextCursor *string      `json:"next_cursor"`
	}{Accounts: []apiAccount{}}
	for _, a := range accounts {
		out.Accounts = append(out.Accounts, newAPIAccount(a, subs[a.ID]))
	}
	if more {
		next := strconv.FormatInt(accounts[len(accounts)-1].ID, 10)
		out.NextCursor = &next
	}
	return c.JSON(http.StatusOK, out)
}

// APIGetAccount answers GET /api/v1/accounts/:account: the account, its
// subscriptions (plan, status, seats) and its evaluated entitlements.
func (h *Handler) APIGetAccount(c echo.Context) error {
	return h.writeAPIAccount(c, http.StatusOK, APIKeyOf(c).AccountID)
}

func (h *Handler) writeAPIAccount(c echo.Context, status int, accountID int64) error {
	ctx := c.Request().Context()
	acct, err := h.Store.AccountByID(ctx, accountID)
	if err != nil {
		return err
	}
	subs, err := h.Store.AccountsSubscriptions(ctx, []int64{accountID})
	if err != nil {
		return err
	}
	out := newAPIAccount(acct, subs[accountID])
	checker, err := h.Checks.Checker(ctx, accountID)
	if err != nil {
		return err
	}
	now := h.Clock.Now()
	out.Entitlements = []apiCheck{}
	for _, r := range checker.CheckAll("", now) {
		out.Entitlements = append(out.Entitlements, newAPICheck(acct.Slug, "", r, now))
	}
	return c.JSON(status, out)
}

// APICreateAccount answers POST /api/v1/accounts: creates an account with
// its owner invited by mail and, optionally, a plan on trial or granted.
func (h *Handler) APICreateAccount(c echo.Context) error {
	var body struct {
		Name       string `json:"name"`
		OwnerEmail string `json:"owner_email"`
		ExternalID string `json:"external_id"`
		Plan       string `json:"plan"`
		Start      string `json:"start"`
		Seats      int    `json:"seats"`
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return problemInvalid(`The body must be a JSON object {"name", "owner_email", "external_id"?, "plan"?, "start"?: "trial"|"grant", "seats"?}: `+err.Error(), nil)
	}
	key := APIKeyOf(c)
	acct, err := h.Store.CreateAccount(c.Request().Context(), key.Actor(), store.NewAccount{Name: body.Name,
		OwnerEmail: body.OwnerEmail, ExternalID: body.ExternalID, Plan: body.Plan, Start: body.Start, Seats: body.Seats,
		BaseURL: h.baseURL(c)})
	if err != nil {
		return err
	}
	if body.Start == "trial" {
		h.registerVendorTrial(c, acct.ID) // a refusal is logged; the sweep tries again
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/accounts/"+acct.Slug)
	return h.writeAPIAccount(c, http.StatusCreated, acct.ID)
}

// APIUpdateAccount answers PATCH /api/v1/accounts/:account: a new name or
// external id (null clears it); fields left out stay.
func (h *Handler) APIUpdateAccount(c echo.Context) error {
	var body map[string]json.RawMessage
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(&body); err != nil || body == nil {
		return problemInvalid(`The body must be a JSON object with "name" and/or "external_id" (null clears it).`, nil)
	}
	var u store.AccountUpdate
	for field, raw := range body {
		switch field {
		case "name":
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return problemInvalid("name must be a string", map[string]string{"name": "a string"})
			}
			u.Name = &v
		case "external_id":
			v := ""
			if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				if err := json.Unmarshal(raw, &v); err != nil {
					return problemInvalid("external_id must be a string, or null to clear it", map[string]string{"external_id": "a string or null"})
				}
			}
			u.ExternalID = &v
		default:
			return problemInvalid("Only name and external_id can be changed here; "+quote(field)+" cannot.",
				map[string]string{field: "not changeable"})
		}
	}
	key := APIKeyOf(c)
	if _, err := h.Store.UpdateAccount(c.Request().Context(), key.Actor(), key.AccountID, u); err != nil {
		return err
	}
	return h.writeAPIAccount(c, http.StatusOK, key.AccountID)
}
