package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// ProblemTypeBase prefixes every problem type of the entitlement API. The
// types are stable: vendors' applications switch on them.
const ProblemTypeBase = "https://entitle.dev/problems/"

// Problem is an RFC 9457 problem details document, the body of every error
// answer under /api/v1. It is also an error, so handlers return it.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Extension members.
	Reason   licensing.Reason    `json:"reason,omitempty"`   // usage refused: why
	Decision *licensing.Decision `json:"decision,omitempty"` // usage refused: the decision at the time
	Errors   map[string]string   `json:"errors,omitempty"`   // invalid-request: a message per field
	// NextExpiry: a full floating licence pool, when its soonest lease expires.
	NextExpiry *time.Time `json:"next_expiry,omitempty"`

	retryAfter time.Duration
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

func problem(status int, kind, title, detail string) *Problem {
	return &Problem{Type: ProblemTypeBase + kind, Title: title, Status: status, Detail: detail}
}

// Problems the API answers with, by type.
func problemUnauthorized(detail string) *Problem {
	return problem(http.StatusUnauthorized, "unauthorized", "Missing, unknown or revoked API key", detail)
}

func problemInvalid(detail string, fields map[string]string) *Problem {
	p := problem(http.StatusBadRequest, "invalid-request", "The request is malformed", detail)
	p.Errors = fields
	return p
}

func problemRateLimited(wait time.Duration) *Problem {
	p := problem(http.StatusTooManyRequests, "rate-limited", "Too many requests for this API key",
		"Slow down: retry after the number of seconds in Retry-After.")
	p.retryAfter = wait
	return p
}

// ProblemRateLimited is the answer when a key exceeds its request rate.
func ProblemRateLimited(wait time.Duration) error { return problemRateLimited(wait) }

// ProblemUnauthorized is the answer to a request without a usable key.
func ProblemUnauthorized(detail string) error { return problemUnauthorized(detail) }

// ProblemNotFound is the answer for anything that does not exist or belongs
// to another account than the key's (the two look the same on purpose).
func ProblemNotFound(detail string) error {
	return problem(http.StatusNotFound, "not-found", "Not found", detail)
}

// ProblemScope is the answer when the key lacks the scope a route needs.
func ProblemScope(scope string) error {
	return problem(http.StatusForbidden, "insufficient-scope", "The API key lacks a scope",
		fmt.Sprintf("This request needs an API key with the %q scope.", scope))
}

// unavailableRetry is the Retry-After of answers refused while the
// database is out of reach.
const unavailableRetry = 5 * time.Second

// ProblemUnavailable is the answer when the database is out of reach and
// the request cannot be answered from memory: try again soon. Nothing was
// recorded.
func ProblemUnavailable() *Problem {
	p := problem(http.StatusServiceUnavailable, "unavailable", "Temporarily unavailable",
		"Entitle cannot reach its database and cannot answer this from memory; nothing was recorded. Retry after the number of seconds in Retry-After.")
	p.retryAfter = unavailableRetry
	return p
}

// ProblemFor maps any error a handler or middleware returned under /api/v1
// to its problem document.
func ProblemFor(err error) *Problem {
	var p *Problem
	var ve *store.ValidationError
	var refused *licensing.UsageRefusedError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &p):
		return p
	case store.IsUnavailable(err):
		return ProblemUnavailable()
	case errors.Is(err, checks.ErrUnknownAPIKey):
		return problemUnauthorized("The API key is unknown or was revoked.")
	case errors.Is(err, licensing.ErrUnknownFeature):
		return problem(http.StatusNotFound, "unknown-feature", "Unknown feature", err.Error())
	case errors.Is(err, store.ErrNotFound):
		return problem(http.StatusNotFound, "not-found", "Not found", "")
	case errors.As(err, &ve):
		return problemInvalid(ve.Error(), ve.Fields)
	case errors.As(err, &refused):
		d := refused.Decision
		if d.Reason == licensing.ReasonLimitReached {
			p = problem(http.StatusConflict, "limit-reached", "Usage limit reached",
				fmt.Sprintf("Recording %d more %s would go past the limit; nothing was recorded.", refused.Quantity, refused.Feature))
		} else {
			p = problem(http.StatusForbidden, "no-access", "The account has no access to this feature",
				fmt.Sprintf("Usage of %s was not recorded: %s.", refused.Feature, d.Reason))
		}
		p.Reason, p.Decision = d.Reason, &d
		return p
	case errors.Is(err, store.ErrIdempotencyKeyReused):
		return problem(http.StatusConflict, "idempotency-key-reused", "Idempotency key reused",
			"This Idempotency-Key was already used for a report of another feature or quantity.")
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			return problem(he.Code, "not-found", "Not found", "No such API route.")
		case http.StatusMethodNotAllowed:
			return problem(he.Code, "method-not-allowed", "Method not allowed", "")
		case http.StatusRequestEntityTooLarge:
			return problem(he.Code, "too-large", "Request body too large", "")
		}
		if he.Code < 500 {
			return problem(he.Code, "invalid-request", http.StatusText(he.Code), fmt.Sprint(he.Message))
		}
	}
	return problem(http.StatusInternalServerError, "internal-error", "Internal error",
		"Something went wrong on our side. It has been logged; please retry.")
}

// IsAPIRequest tells whether the request is for the entitlement API, whose
// errors are problem documents rather than pages.
func IsAPIRequest(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

// RenderProblem writes a problem document (RFC 9457).
func (h *Handler) RenderProblem(c echo.Context, p *Problem) error {
	hdr := c.Response().Header()
	if p.retryAfter > 0 {
		hdr.Set("Retry-After", strconv.Itoa(int(math.Ceil(p.retryAfter.Seconds()))))
	}
	if p.Status == http.StatusUnauthorized {
		hdr.Set("WWW-Authenticate", `Bearer realm="entitle"`)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.Blob(p.Status, "application/problem+json", body)
}
