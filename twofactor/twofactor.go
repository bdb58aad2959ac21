// Package twofactor is TOTP (RFC 6238) for Entitle's sign-ins: new secrets
// with their QR code, matching a code to its time step (one step of clock
// skew either way) so the store can refuse a code used twice in its step,
// and recovery codes, of which only hashes are kept. It holds no state:
// handlers call it and the store records secrets, steps and hashes.
package twofactor

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Period is the length of a time step.
const Period = 30 * time.Second

// Issuer names Entitle in authenticator apps.
const Issuer = "Entitle"

var opts = totp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrolment is a new secret as the enrolment page shows it.
type Enrolment struct {
	Secret string // base32, for typing into an app by hand
	URL    string // otpauth:// URL
	QR     string // a PNG data: URI of the QR code of URL
}

// NewEnrolment makes a random secret for account (an email).
func NewEnrolment(account string) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: account, Period: opts.Period,
		Digits: opts.Digits, Algorithm: opts.Algorithm})
	if err != nil {
		return Enrolment{}, err
	}
	return EnrolmentFor(key.Secret(), account)
}

// EnrolmentFor shows an existing secret (a pending enrolment read back).
func EnrolmentFor(secret, account string) (Enrolment, error) {
	key, err := otp.NewKeyFromURL(fmt.Sprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&period=%d&digits=6&algorithm=SHA1",
		Issuer, account, secret, Issuer, opts.Period))
	if err != nil {
		return Enrolment{}, err
	}
	img, err := key.Image(220, 220)
	if err != nil {
		return Enrolment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: secret, URL: key.URL(), QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// Step is the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Match finds the step (now's, or one either side for clock skew) in which
// code is valid for secret; ok is false when it is valid in none.
func Match(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	for _, d := range []int64{0, -1, 1} {
		s := Step(now) + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*int64(Period/time.Second), 0), opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// Code is the code of secret at t (for tests and the demo's printout).
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, opts)
}

// RecoveryCodes makes n one-time codes like "k7q2-9xmd-p4tz".
func RecoveryCodes(n int) ([]string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		var sb strings.Builder
		for j, x := range b {
			if j > 0 && j%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(alphabet[int(x)%len(alphabet)])
		}
		out[i] = sb.String()
	}
	return out, nil
}

// HashRecoveryCode is what is stored of a recovery code.
func HashRecoveryCode(code string) []byte {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(code))))
	return sum[:]
}
