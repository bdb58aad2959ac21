package handlers

import (
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// ctxAPIKey holds the API key that authenticated the request.
const ctxAPIKey = "entitle.apikey"

// SetAPIKey records the request's API key (web's API middleware).
func SetAPIKey(c echo.Context, k *store.APIKey) { c.Set(ctxAPIKey, k) }

// APIKeyOf is the request's API key; nil outside the authenticated API.
func APIKeyOf(c echo.Context) *store.APIKey {
	k, _ := c.Get(ctxAPIKey).(*store.APIKey)
	return k
}

// apiCheck is one decision as the API writes it: licensing.Decision's
// fields, with what it was decided for and under.
type apiCheck struct {
	Account string                `json:"account"`
	Product string                `json:"product"`
	Feature string                `json:"feature"`
	Kind    licensing.FeatureKind `json:"kind"`
	User    string                `json:"user,omitempty"`
	licensing.Decision
	Plan      *licensing.PlanRef `json:"plan"`
	Status    *licensing.Status  `json:"status"` // null without a subscription
	CheckedAt time.Time          `json:"checked_at"`
	// Stale: answered from the last state known while the database is out
	// of reach; AsOf is the time that state dates from.
	Stale bool       `json:"stale,omitempty"`
	AsOf  *time.Time `json:"as_of,omitempty"`
}

// StaleHeader is set on a check answered from a stale state, to the time
// the state dates from (RFC 3339).
const StaleHeader = "Entitle-Stale-As-Of"

// staleAnswer marks the answer and the response stale when the state is.
func staleAnswer(c echo.Context, st checks.Answer) *time.Time {
	if !st.Stale {
		return nil
	}
	asOf := st.AsOf.UTC()
	c.Response().Header().Set(StaleHeader, asOf.Format(time.RFC3339Nano))
	return &asOf
}

func newAPICheck(account, user string, r licensing.CheckResult, now time.Time) apiCheck {
	out := apiCheck{Account: account, Product: r.Product, Feature: r.Feature.Key, Kind: r.Feature.Kind, User: user,
		Decision: r.Decision, Plan: r.Plan, CheckedAt: now}
	if r.Status != "" {
		st := r.Status
		out.Status = &st
	}
	return out
}

// apiUser reads the optional ?user= (an email or a user id).
func apiUser(c echo.Context) (string, error) {
	if c.Request().URL.RawQuery == "" { // most checks: nothing to parse
		return "", nil
	}
	q := c.Request().URL.Query()
	if !q.Has("user") {
		return "", nil
	}
	u := q.Get("user")
	if u == "" || len(u) > 320 {
		return "", problemInvalid("user must be an email or a user id (1 to 320 characters), or left out for an account-level check",
			map[string]string{"user": "an email or a user id"})
	}
	return u, nil
}

// APIEntitlement answers GET /api/v1/accounts/:account/entitlements/:feature:
// may the account (or ?user=) use the feature, and how much is left. The
// answer comes from the in-process cache of the account's state.
func (h *Handler) APIEntitlement(c echo.Context) error {
	key := APIKeyOf(c)
	user, err := apiUser(c)
	if err != nil {
		return err
	}
	st, err := h.Checks.State(c.Request().Context(), key.AccountID)
	if err != nil {
		return err
	}
	asOf := staleAnswer(c, st)
	now := h.Clock.Now()
	r, err := st.Checker.Check(c.Param("feature"), user, now)
	if err != nil {
		return problem(http.StatusNotFound, "unknown-feature", "Unknown feature",
			"No product of this account has a feature "+quote(c.Param("feature"))+".")
	}
	if r.Decision.HasAccess && user != "" { // insights: the seat's last use, batched
		h.Checks.NoteSeatUse(key.AccountID, r.Product, user, now)
	}
	out := newAPICheck(key.AccountSlug, user, r, now)
	out.Stale, out.AsOf = asOf != nil, asOf
	buf := checkBufs.Get().(*[]byte)
	defer checkBufs.Put(buf)
	*buf = out.appendJSON((*buf)[:0])
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, *buf) // written (copied) before the buffer is reused
}

// checkBufs holds the buffers check answers are encoded into.
var checkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// APIEntitlements answers GET /api/v1/accounts/:account/entitlements: every
// feature at once.
func (h *Handler) APIEntitlements(c echo.Context) error {
	key := APIKeyOf(c)
	user, err := apiUser(c)
	if err != nil {
		return err
	}
	st, err := h.Checks.State(c.Request().Context(), key.AccountID)
	if err != nil {
		return err
	}
	asOf := staleAnswer(c, st)
	now := h.Clock.Now()
	out := struct {
		Account      string     `json:"account"`
		User         string     `json:"user,omitempty"`
		CheckedAt    time.Time  `json:"checked_at"`
		Stale        bool       `json:"stale,omitempty"`
		AsOf         *time.Time `json:"as_of,omitempty"`
		Entitlements []apiCheck `json:"entitlements"`
	}{Account: key.AccountSlug, User: user, CheckedAt: now, Stale: asOf != nil, AsOf: asOf, Entitlements: []apiCheck{}}
	for _, r := range st.Checker.CheckAll(user, now) {
		e := newAPICheck(key.AccountSlug, user, r, now)
		e.Stale, e.AsOf = asOf != nil, asOf
		out.Entitlements = append(out.Entitlements, e)
	}
	return c.JSON(http.StatusOK, out)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + s + `"`
}
