package licensing

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on what a person types when signing up, accepting an invitation or
// resetting a password.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 72 // bcrypt reads no further
	MaxNameLength     = 200
	MaxCompanyLength  = 100
	MaxEmailLength    = 254
)

// disposableDomains are throwaway-mail services: a sign-up from one of them
// is refused with a clear message, since the vendor could never reach the
// account's owner there.
var disposableDomains = map[string]bool{
	"mailinator.com": true, "guerrillamail.com": true, "10minutemail.com": true, "tempmail.com": true,
	"temp-mail.org": true, "yopmail.com": true, "trashmail.com": true, "sharklasers.com": true,
	"throwawaymail.com": true, "getnada.com": true, "dispostable.com": true, "maildrop.cc": true,
}

// SignupEmailProblem checks a sign-up address: "" when it may be used, else
// the sentence to show beside the field. It returns the address normalised.
func SignupEmailProblem(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "enter your work email"
	}
	if len(s) > MaxEmailLength || strings.ContainsAny(s, "<>") {
		return "", "enter one email address, like ann@example.com"
	}
	email, ok := NormalizeEmail(s)
	if !ok {
		return "", "enter one email address, like ann@example.com"
	}
	domain := email[strings.LastIndex(email, "@")+1:]
	if disposableDomains[domain] {
		return "", "use your work email: addresses at " + domain + " are disposable"
	}
	return email, ""
}

// NewPersonProblems checks what a new person chooses when they first set a
// password (sign-up, invitation, staff set-password link, reset): a name
// (when asked) and a password. Problems are keyed by field.
func NewPersonProblems(name string, askName bool, password string) map[string]string {
	out := map[string]string{}
	if askName {
		if n := strings.TrimSpace(name); n == "" || utf8.RuneCountInString(n) > MaxNameLength {
			out["name"] = fmt.Sprintf("enter your name (at most %d characters)", MaxNameLength)
		}
	}
	if p := PasswordProblem(password); p != "" {
		out["password"] = p
	}
	return out
}

// PasswordProblem is "" for a password that may be chosen.
func PasswordProblem(password string) string {
	if len(password) < MinPasswordLength || len(password) > MaxPasswordLength {
		return fmt.Sprintf("choose a password of %d to %d characters", MinPasswordLength, MaxPasswordLength)
	}
	return ""
}

// CompanyProblem is "" for a company name that may be used.
func CompanyProblem(name string) string {
	n := strings.TrimSpace(name)
	if n == "" || utf8.RuneCountInString(n) > MaxCompanyLength {
		return fmt.Sprintf("enter your company's name (at most %d characters)", MaxCompanyLength)
	}
	return ""
}
