package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// ContentType is the media type of every SCIM response, errors included
// (RFC 7644 §3.8). Entra checks it on every answer; requests may also arrive
// as application/json (Okta's spec test posts users that way).
const ContentType = "application/scim+json"

// The scimType values of RFC 7644 §3.12: a client branches on them, so they
// are the only values an Error carries in ScimType (or none).
const (
	InvalidFilter = "invalidFilter" // the filter is malformed or not supported
	TooMany       = "tooMany"       // the query would return more than the server allows
	Uniqueness    = "uniqueness"    // one or more unique attribute values are in use (409)
	Mutability    = "mutability"    // the request would change a read-only attribute
	InvalidSyntax = "invalidSyntax" // the request body is not a valid SCIM message
	InvalidPath   = "invalidPath"   // a PATCH path is malformed
	NoTarget      = "noTarget"      // a PATCH path matched nothing where it had to
	InvalidValue  = "invalidValue"  // a value is missing or of the wrong type
	InvalidVers   = "invalidVers"   // the ETag version did not match
	Sensitive     = "sensitive"     // the request put sensitive data in the URL
)

// Error is a SCIM error: an HTTP status, an optional scimType and a sentence
// for a person. It is a Go error, so protocol functions return it like any
// other error and the handler writes it with json.Marshal as the error
// document (see MarshalJSON).
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

// NewError builds an Error. An empty detail is replaced by the status text,
// because Okta's spec test fails a 401 or 404 without a detail.
func NewError(status int, scimType, detail string) *Error {
	if detail == "" {
		detail = defaultDetail(status)
	}
	return &Error{Status: status, ScimType: scimType, Detail: detail}
}

// Errorf builds an Error with a formatted detail.
func Errorf(status int, scimType, format string, args ...any) *Error {
	return NewError(status, scimType, fmt.Sprintf(format, args...))
}

// BadRequest is a 400 with a scimType: the usual answer to a request the
// protocol code refuses.
func BadRequest(scimType, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, scimType, format, args...)
}

// NotFound is a 404; RFC 7644 defines no scimType for it.
func NotFound(format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, "", format, args...)
}

// Conflict is a 409 uniqueness error: a duplicate userName answers this, and
// Okta stops provisioning on it instead of retrying (RFC 7644 §3.3).
func Conflict(format string, args ...any) *Error {
	return Errorf(http.StatusConflict, Uniqueness, format, args...)
}

// Unauthorized is a 401; it too must carry a detail for Okta.
func Unauthorized(detail string) *Error {
	return NewError(http.StatusUnauthorized, "", detail)
}

// Internal is a 500 whose detail says nothing about the cause: the cause is
// logged by the caller, never shown to an identity provider.
func Internal() *Error {
	return NewError(http.StatusInternalServerError, "", "The server could not complete the request; it has been logged.")
}

// AsError finds the *Error in err's chain, or answers Internal for any other
// error, so that a handler can always write an error document.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal()
}

// Error reads like "scim 400 invalidFilter: …" in logs.
func (e *Error) Error() string {
	if e.ScimType == "" {
		return fmt.Sprintf("scim %d: %s", e.Status, e.detail())
	}
	return fmt.Sprintf("scim %d %s: %s", e.Status, e.ScimType, e.detail())
}

// errorDocument is the wire form of RFC 7644 §3.12. status is the HTTP code
// as a string, which the RFC requires and Okta's spec test checks.
type errorDocument struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

// MarshalJSON writes the error document:
// {"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"…"}.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(errorDocument{
		Schemas:  []string{ErrorSchema},
		Status:   strconv.Itoa(e.Status),
		ScimType: e.ScimType,
		Detail:   e.detail(),
	})
}

// UnmarshalJSON reads an error document back, for tests and for clients.
func (e *Error) UnmarshalJSON(b []byte) error {
	var doc errorDocument
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	status, err := strconv.Atoi(doc.Status)
	if err != nil {
		return fmt.Errorf("scim error document: status %q is not a number", doc.Status)
	}
	*e = Error{Status: status, ScimType: doc.ScimType, Detail: doc.Detail}
	return nil
}

// detail is never empty, even for an Error built as a struct literal.
func (e *Error) detail() string {
	if e.Detail != "" {
		return e.Detail
	}
	return defaultDetail(e.Status)
}

func defaultDetail(status int) string {
	if text := http.StatusText(status); text != "" {
		return text
	}
	return "Error " + strconv.Itoa(status)
}
