package licensing

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
)

// Limits on what one paste or one upload may hold.
const (
	MaxInviteBatch = 500
	MaxSeatCSVRows = 10000
)

// Address problems, stable strings the portal shows per address or row.
const (
	ProblemMalformed        = "malformed"
	ProblemDuplicate        = "duplicate"
	ProblemDomainNotAllowed = "domain_not_allowed"
)

// AddressLine is one address of a pasted list or one row of an uploaded
// file: what was given, the normalised address (lower case), and a problem
// when it cannot be used.
type AddressLine struct {
	Line    int // 1-based row of an uploaded file; 0 for pasted lists
	Input   string
	Email   string
	Problem string
}

// ErrTooMany is returned when a list or a file holds more entries than
// allowed.
var ErrTooMany = errors.New("too many addresses")

// NormalizeEmail checks that s is one plain address (local@domain, the
// domain made of dot-separated labels) and returns it in lower case. Display
// names ("Ann <ann@x.com>") are accepted and dropped.
func NormalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 320 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", false
	}
	addr := strings.ToLower(a.Address)
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || len(addr) > 254 {
		return "", false
	}
	local, domain := addr[:at], addr[at+1:]
	if strings.ContainsAny(local, "\" \t(),:;<>[\\]") || !validDomain(domain) || !strings.Contains(domain, ".") {
		return "", false
	}
	return addr, true
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// DomainAllowed reports whether email may be invited under an account's
// domain rules: any address when domains is empty, else an address at one of
// the domains or a subdomain of one.
func DomainAllowed(email string, domains []string) bool {
	if len(domains) == 0 {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(email[at+1:])
	for _, d := range domains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// ParseDomains reads an account's domain rules as typed (separated by
// commas, spaces or new lines; a leading "@" is dropped), lower-cased and
// without duplicates. It names the first entry that is not a domain.
func ParseDomains(text string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range splitList(text) {
		d := strings.ToLower(strings.TrimPrefix(f, "@"))
		if !validDomain(d) || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("%q is not a domain name", f)
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// ParseInviteList reads addresses pasted at once, separated by new lines,
// commas, semicolons or spaces ("Ann <ann@x.com>" is one address), and
// answers per address: malformed, listed twice, or outside the account's
// domain rules. ErrTooMany when more than MaxInviteBatch are given.
func ParseInviteList(text string, domains []string) ([]AddressLine, error) {
	fields := splitList(text)
	if len(fields) > MaxInviteBatch {
		return nil, fmt.Errorf("%w: %d addresses, at most %d at once", ErrTooMany, len(fields), MaxInviteBatch)
	}
	seen := map[string]bool{}
	out := make([]AddressLine, 0, len(fields))
	for _, f := range fields {
		l := AddressLine{Input: f}
		email, ok := NormalizeEmail(f)
		switch {
		case !ok:
			l.Problem = ProblemMalformed
		case seen[email]:
			l.Email, l.Problem = email, ProblemDuplicate
		case !DomainAllowed(email, domains):
			l.Email, l.Problem = email, ProblemDomainNotAllowed
		default:
			l.Email = email
		}
		if ok {
			seen[email] = true
		}
		out = append(out, l)
	}
	return out, nil
}

// splitList splits on new lines, commas and semicolons, then on spaces
// unless the piece is "Name <address>".
func splitList(text string) []string {
	var out []string
	for _, piece := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		piece = strings.TrimSpace(piece)
		if piece == "" {
			continue
		}
		if strings.Contains(piece, "<") {
			out = append(out, piece)
			continue
		}
		out = append(out, strings.Fields(piece)...)
	}
	return out
}

// ParseSeatCSV reads an uploaded file of member addresses: one per row, in
// the column headed "email" when the first row has such a header, else in
// the first column. Every row is answered: its address, or malformed (also
// for a row the CSV reader cannot read), or listed twice. Blank rows are
// skipped. ErrTooMany when it has more than MaxSeatCSVRows rows.
func ParseSeatCSV(data []byte) ([]AddressLine, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	column := 0
	seen := map[string]bool{}
	var out []AddressLine
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			out = append(out, AddressLine{Line: perr.StartLine, Input: strings.Join(rec, ","), Problem: ProblemMalformed})
			continue
		} else if err != nil {
			return nil, err
		}
		if first {
			if i := headerColumn(rec); i >= 0 {
				column = i
				continue
			}
		}
		if len(out) >= MaxSeatCSVRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrTooMany, MaxSeatCSVRows)
		}
		l := AddressLine{Line: line}
		if column < len(rec) {
			l.Input = strings.TrimSpace(rec[column])
		}
		if l.Input == "" && allBlank(rec) {
			continue
		}
		email, ok := NormalizeEmail(l.Input)
		switch {
		case !ok:
			if l.Input == "" {
				l.Input = strings.Join(rec, ",")
			}
			l.Problem = ProblemMalformed
		case seen[email]:
			l.Email, l.Problem = email, ProblemDuplicate
		default:
			l.Email = email
			seen[email] = true
		}
		out = append(out, l)
	}
	return out, nil
}

func headerColumn(rec []string) int {
	for i, f := range rec {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(f, "\ufeff"))) {
		case "email", "e-mail", "email address":
			return i
		}
	}
	return -1
}

func allBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
