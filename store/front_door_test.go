package store_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func newFrontDoor(t *testing.T) (*store.Store, *fixedClock) {
	t.Helper()
	clock := &fixedClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	return storetest.NewDemo(t, clock), clock
}

func (c *fixedClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// mailedToken is the token of the newest mail of kind to an address.
func mailedToken(t *testing.T, s *store.Store, to, kind, path string) string {
	t.Helper()
	var body string
	if err := s.DB().Get(&body, `SELECT body FROM outbox WHERE to_address = $1 AND kind = $2 ORDER BY id DESC LIMIT 1`, to, kind); err != nil {
		t.Fatalf("no %s mail to %s: %v", kind, to, err)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(path) + `([A-Za-z0-9_-]+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s link in %q", path, body)
	}
	return m[1]
}

func countOf(t *testing.T, s *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func signup(email, company string) store.SignupRequest {
	return store.SignupRequest{Email: email, Name: "New Person", Password: "correct horse battery", Company: company,
		Plan: "business", IP: "192.0.2.1", BaseURL: "http://portal.test"}
}

func TestSignupLinkCreatesTheAccountOnceAndExpires(t *testing.T) {
	t.Parallel()
	s, clock := newFrontDoor(t)
	ctx := context.Background()
	if err := s.RequestSignup(ctx, signup("ann@wayne.test", "Wayne Enterprises, Inc.")); err != nil {
		t.Fatal(err)
	}
	if n := countOf(t, s, `SELECT count(*) FROM account WHERE name = 'Wayne Enterprises, Inc.'`); n != 0 {
		t.Fatalf("the account exists before the address is verified")
	}
	token := mailedToken(t, s, "ann@wayne.test", "signup_verify", "/signup/verify/")
	if n := countOf(t, s, `SELECT count(*) FROM email_token WHERE token_hash = convert_to($1, 'UTF8')`, token); n != 0 {
		t.Error("the token itself is stored; only its hash may be")
	}
	done, err := s.CompleteSignup(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if done.AccountSlug != "wayne-enterprises-inc" || done.Plan != "business" {
		t.Errorf("signed up = %+v", done)
	}
	if _, err := s.Authenticate(ctx, "ann@wayne.test", "correct horse battery", "192.0.2.1"); err != nil {
		t.Errorf("the chosen password does not sign in: %v", err)
	}
	if n := countOf(t, s, `SELECT count(*) FROM membership WHERE account_id = $1 AND role = 'owner' AND status = 'active'`, done.AccountID); n != 1 {
		t.Errorf("%d active owners", n)
	}
	if n := countOf(t, s, `SELECT count(*) FROM audit_entry WHERE account_id = $1 AND action = 'account.signup'`, done.AccountID); n != 1 {
		t.Errorf("sign-up audited %d times", n)
	}
	if _, err := s.CompleteSignup(ctx, token); !errors.Is(err, store.ErrLinkInvalid) {
		t.Errorf("second use: %v, want ErrLinkInvalid", err)
	}
	if _, err := s.CompleteSignup(ctx, token+"x"); !errors.Is(err, store.ErrLinkInvalid) {
		t.Errorf("tampered link: %v", err)
	}

	// A link not used within its lifetime creates nothing.
	if err := s.RequestSignup(ctx, signup("bob@late.test", "Late Corp")); err != nil {
		t.Fatal(err)
	}
	late := mailedToken(t, s, "bob@late.test", "signup_verify", "/signup/verify/")
	clock.advance(store.SignupLinkLifetime + time.Minute)
	if _, err := s.CompleteSignup(ctx, late); !errors.Is(err, store.ErrLinkInvalid) {
		t.Errorf("expired link: %v", err)
	}
	if n := countOf(t, s, `SELECT count(*) FROM account WHERE name = 'Late Corp'`); n != 0 {
		t.Error("an expired link created an account")
	}
}

func TestSignupSlugsAreUniquePerCompanyName(t *testing.T) {
	t.Parallel()
	s, _ := newFrontDoor(t)
	ctx := context.Background()
	var slugs []string
	for _, email := range []string{"a@globex-two.test", "b@globex-three.test"} {
		if err := s.RequestSignup(ctx, signup(email, "Globex")); err != nil {
			t.Fatal(err)
		}
		done, err := s.CompleteSignup(ctx, mailedToken(t, s, email, "signup_verify", "/signup/verify/"))
		if err != nil {
			t.Fatal(err)
		}
		slugs = append(slugs, done.AccountSlug)
	}
	if fmt.Sprint(slugs) != "[globex-2 globex-3]" {
		t.Errorf("slugs = %v, want globex-2 and globex-3 beside the demo's globex", slugs)
	}
}

func TestSignupAnswersKnownAndUnknownAddressesAlike(t *testing.T) {
	t.Parallel()
	s, _ := newFrontDoor(t)
	ctx := context.Background()
	users := countOf(t, s, `SELECT count(*) FROM app_user`)
	known := s.RequestSignup(ctx, signup("owner@globex.test", "Globex Again"))
	unknown := s.RequestSignup(ctx, signup("fresh@newco.test", "NewCo"))
	if known != nil || unknown != nil {
		t.Fatalf("answers differ or fail: known %v, unknown %v", known, unknown)
	}
	if n := countOf(t, s, `SELECT count(*) FROM outbox WHERE to_address = 'owner@globex.test' AND kind = 'signup_existing'`); n != 1 {
		t.Errorf("the known address got %d 'you already have an account' mails", n)
	}
	if n := countOf(t, s, `SELECT count(*) FROM email_token WHERE email = 'owner@globex.test'`); n != 0 {
		t.Error("a known address got a sign-up link")
	}
	if n := countOf(t, s, `SELECT count(*) FROM app_user`); n != users {
		t.Errorf("users %d → %d before any verification", users, n)
	}
	var ve *store.ValidationError
	for _, bad := range []string{"not-an-address", "someone@mailinator.com", ""} {
		if err := s.RequestSignup(ctx, signup(bad, "X Corp")); !errors.As(err, &ve) || ve.Fields["email"] == "" {
			t.Errorf("%q: %v, want a message beside the email", bad, err)
		}
	}
}

func TestSignupAndResetAreThrottledPerAddressAndPerIP(t *testing.T) {
	t.Parallel()
	s, clock := newFrontDoor(t)
	ctx := context.Background()
	var throttled *store.ThrottledError
	for i := range 4 {
		err := s.RequestSignup(ctx, signup("spam@target.test", "Target"))
		if i < 3 && err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if i == 3 && !errors.As(err, &throttled) {
			t.Fatalf("fourth sign-up for one address: %v, want throttled", err)
		}
	}
	for i := range 21 {
		req := signup(fmt.Sprintf("p%d@many.test", i), "Many")
		req.IP = "198.51.100.7"
		err := s.RequestSignup(ctx, req)
		if i < 20 && err != nil {
			t.Fatalf("address %d: %v", i, err)
		}
		if i == 20 && !errors.As(err, &throttled) {
			t.Fatalf("21st sign-up from one IP: %v, want throttled", err)
		}
	}
	for i := range 4 {
		err := s.RequestPasswordReset(ctx, "owner@umbrella.test", "203.0.113.9", "http://portal.test")
		if i == 3 && !errors.As(err, &throttled) {
			t.Fatalf("fourth reset for one address: %v, want throttled", err)
		}
	}
	clock.advance(16 * time.Minute)
	if err := s.RequestPasswordReset(ctx, "owner@umbrella.test", "203.0.113.9", "http://portal.test"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestPasswordResetIsSingleUseShortLivedAndEndsEverySession(t *testing.T) {
	t.Parallel()
	s, clock := newFrontDoor(t)
	ctx := context.Background()
	login, err := s.Authenticate(ctx, "owner@globex.test", store.DemoPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.CreateCustomerSession(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPasswordReset(ctx, "owner@globex.test", "192.0.2.1", "http://portal.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPasswordReset(ctx, "nobody@globex.test", "192.0.2.1", "http://portal.test"); err != nil {
		t.Fatalf("an unknown address must get the same answer: %v", err)
	}
	if n := countOf(t, s, `SELECT count(*) FROM outbox WHERE to_address = 'nobody@globex.test'`); n != 0 {
		t.Error("an unknown address was mailed")
	}
	token := mailedToken(t, s, "owner@globex.test", "password_reset", "/password/reset/")
	var ve *store.ValidationError
	if _, err := s.ResetPassword(ctx, token, "short"); !errors.As(err, &ve) {
		t.Fatalf("short password: %v", err)
	}
	ended, err := s.ResetPassword(ctx, token, "a brand new password")
	if err != nil || ended != 1 {
		t.Fatalf("reset: %d sessions ended, %v", ended, err)
	}
	if _, err := s.CustomerSession(ctx, old); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old session survived the reset: %v", err)
	}
	if _, err := s.Authenticate(ctx, "owner@globex.test", "a brand new password", "192.0.2.1"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := s.ResetPassword(ctx, token, "yet another password"); !errors.Is(err, store.ErrLinkInvalid) {
		t.Errorf("second use: %v", err)
	}

	if err := s.RequestPasswordReset(ctx, "owner@globex.test", "192.0.2.1", "http://portal.test"); err != nil {
		t.Fatal(err)
	}
	late := mailedToken(t, s, "owner@globex.test", "password_reset", "/password/reset/")
	clock.advance(store.ResetLinkLifetime + time.Second)
	if _, err := s.ResetPassword(ctx, late, "too late password"); !errors.Is(err, store.ErrLinkInvalid) {
		t.Errorf("expired link: %v", err)
	}
	if _, err := s.Authenticate(ctx, "owner@globex.test", "a brand new password", "192.0.2.1"); err != nil {
		t.Errorf("an expired link changed the password: %v", err)
	}
}

func TestSwitchingAccountsStaysWithinThePersonsMemberships(t *testing.T) {
	t.Parallel()
	s, _ := newFrontDoor(t)
	ctx := context.Background()
	login, err := s.Authenticate(ctx, store.DemoTwoAccountPerson, store.DemoPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.CreateCustomerSession(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := s.PersonAccounts(ctx, login.UserID)
	if err != nil || len(accounts) != 2 {
		t.Fatalf("accounts = %+v, %v", accounts, err)
	}
	for _, slug := range []string{"umbrella", "initech"} {
		if err := s.SwitchAccount(ctx, token, login.UserID, slug); err != nil {
			t.Fatalf("switch to %s: %v", slug, err)
		}
		sess, err := s.CustomerSession(ctx, token)
		if err != nil || sess.AccountSlug != slug {
			t.Fatalf("session after switching to %s: %+v, %v", slug, sess, err)
		}
	}
	if err := s.SwitchAccount(ctx, token, login.UserID, "globex"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("switch to an account the person is not in: %v", err)
	}
	if sess, _ := s.CustomerSession(ctx, token); sess.AccountSlug != "initech" || sess.Role != "admin" {
		t.Errorf("a refused switch moved the session: %+v", sess)
	}
}

func TestATwoFactorCodeIsAcceptedOncePerStep(t *testing.T) {
	t.Parallel()
	s, _ := newFrontDoor(t)
	ctx := context.Background()
	var id int64
	if err := s.DB().Get(&id, `SELECT id FROM staff_user WHERE email = 'admin@acme.test'`); err != nil {
		t.Fatal(err)
	}
	owner := store.TwoFactorOwner{Staff: true, ID: id, Email: "admin@acme.test"}
	if err := s.UseTOTPStep(ctx, owner, 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.UseTOTPStep(ctx, owner, 1000); !errors.Is(err, store.ErrCodeReused) {
		t.Errorf("same step again: %v", err)
	}
	if err := s.UseTOTPStep(ctx, owner, 999); !errors.Is(err, store.ErrCodeReused) {
		t.Errorf("an earlier step: %v", err)
	}
	for range 5 {
		if err := s.RecordWrongCode(ctx, owner); err != nil {
			t.Fatal(err)
		}
	}
	var throttled *store.ThrottledError
	if err := s.CheckCodeThrottle(ctx, owner); !errors.As(err, &throttled) {
		t.Errorf("after five wrong codes: %v", err)
	}
}

func TestStaffCreatedWithALinkChoosesTheirPassword(t *testing.T) {
	t.Parallel()
	s, _ := newFrontDoor(t)
	ctx := context.Background()
	link, err := s.CreateStaff(ctx, store.SystemActor("test"), store.NewStaff{Email: "root@vendor.test", Role: "admin", BaseURL: "http://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateStaff(ctx, "root@vendor.test", "", "192.0.2.1"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("a staff member without a password signed in: %v", err)
	}
	token := regexp.MustCompile(`/admin/password/(\S+)$`).FindStringSubmatch(link)[1]
	if err := s.SetStaffPassword(ctx, token, "a strong staff password"); err != nil {
		t.Fatal(err)
	}
	if st, err := s.AuthenticateStaff(ctx, "root@vendor.test", "a strong staff password", "192.0.2.1"); err != nil || st.Role != "admin" || st.TwoFactor {
		t.Errorf("sign in: %+v, %v", st, err)
	}
	if err := s.SetStaffPassword(ctx, token, "another staff password"); !errors.Is(err, store.ErrLinkInvalid) {
		t.Errorf("second use: %v", err)
	}
	if _, err := s.CreateStaff(ctx, store.SystemActor("test"), store.NewStaff{Email: "root@vendor.test", Role: "admin"}); err == nil {
		t.Error("a second staff account with the same address")
	}
}
