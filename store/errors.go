package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Errors with meaning. web/errors.go maps each to a status and a sentence.
var (
	// ErrNotFound: the thing does not exist, or belongs to another account
	// (the two are indistinguishable on purpose).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor's role does not allow the action.
	ErrForbidden = errors.New("forbidden")
	// ErrNoSeatLeft: every purchased seat is assigned.
	ErrNoSeatLeft = errors.New("no seat left")
	// ErrConflict: the change collides with the current state (a duplicate, say).
	ErrConflict = errors.New("conflict")
	// ErrBadCredentials: the email and password do not match an active login.
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrThrottled: too many failed sign-ins; try again later.
	ErrThrottled = errors.New("too many failed sign-ins")
)

// ValidationError carries a message per input field.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %s", k, e.Fields[k]))
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Invalid builds a ValidationError for one field.
func Invalid(field, message string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: message}}
}

// Members and seats.
var (
	// ErrLastOwner: the change would leave the account without an active owner.
	ErrLastOwner = errors.New("an account needs at least one owner")
	// ErrInvitationInvalid: the invitation link is unknown, used, replaced or expired.
	ErrInvitationInvalid = errors.New("invitation link invalid or expired")
)

// Provisioning.
var (
	// ErrManagedByIdP: the identity provider owns what the change would touch
	// (a provisioned member's standing, role, name or email).
	ErrManagedByIdP = errors.New("managed by the identity provider")
)
