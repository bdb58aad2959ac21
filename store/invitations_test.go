package store_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

var linkPattern = regexp.MustCompile(`https?://\S+/invitations/(\S+)`)

// invitationToken reads the token from the latest mail to address.
func invitationToken(t *testing.T, s *store.Store, to string) string {
	t.Helper()
	var body string
	if err := s.DB().QueryRow(`SELECT body FROM outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1`, to).Scan(&body); err != nil {
		t.Fatalf("no mail to %s: %v", to, err)
	}
	m := linkPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link in mail: %s", body)
	}
	return m[1]
}

func TestInviteAnswersPerAddressAndAcceptActivates(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{now: time.Now().UTC()}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	if err := s.SetInviteDomains(ctx, owner, "globex.test"); err != nil {
		t.Fatal(err)
	}
	results, err := s.Invite(ctx, owner, store.InviteRequest{
		Addresses: "new@globex.test\nalice@globex.test, nope, outsider@example.com; NEW@globex.test",
		Role:      licensing.Member, BaseURL: "http://portal.test/"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range results {
		got[r.Input] = r.Outcome
	}
	want := map[string]string{"new@globex.test": "invited", "alice@globex.test": "already_member", "nope": "malformed",
		"outsider@example.com": "domain_not_allowed", "NEW@globex.test": "duplicate"}
	for in, w := range want {
		if got[in] != w {
			t.Errorf("%s: %q, want %q", in, got[in], w)
		}
	}
	if n := queryInt(t, s, `SELECT count(*) FROM outbox WHERE to_address = 'new@globex.test' AND kind = 'invitation'`); n != 1 {
		t.Fatalf("%d invitation mails", n)
	}
	first := invitationToken(t, s, "new@globex.test")

	// Inviting again sends a new link; the first stops working.
	again, err := s.Invite(ctx, owner, store.InviteRequest{Addresses: "new@globex.test", Role: licensing.Admin, BaseURL: "http://portal.test"})
	if err != nil || again[0].Outcome != store.InviteResent {
		t.Fatalf("re-invite: %+v, %v", again, err)
	}
	second := invitationToken(t, s, "new@globex.test")
	if _, err := s.InvitationByToken(ctx, first); !errors.Is(err, store.ErrInvitationInvalid) {
		t.Fatalf("replaced link: %v", err)
	}
	inv, err := s.InvitationByToken(ctx, second)
	if err != nil || inv.Email != "new@globex.test" || inv.AccountName != "Globex" || inv.Role != "member" || inv.HasLogin() {
		t.Fatalf("invitation = %+v, %v", inv, err)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM invitation WHERE token_hash = convert_to($1, 'UTF8')`, second); n != 0 {
		t.Fatal("the token itself is stored")
	}

	var ve *store.ValidationError
	if _, err := s.AcceptInvitation(ctx, store.AcceptRequest{Token: second, Name: "", Password: "short"}); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("accept with no name and a short password: %v", err)
	}
	login, err := s.AcceptInvitation(ctx, store.AcceptRequest{Token: second, Name: "Nina New", Password: "a-long-password"})
	if err != nil {
		t.Fatal(err)
	}
	if login.AccountID != owner.AccountID {
		t.Fatalf("login = %+v", login)
	}
	if _, err := s.AcceptInvitation(ctx, store.AcceptRequest{Token: second, Name: "Eve", Password: "another-password"}); !errors.Is(err, store.ErrInvitationInvalid) {
		t.Fatalf("second use of the link: %v", err)
	}
	if _, err := s.Authenticate(ctx, "new@globex.test", "a-long-password", "10.0.0.1"); err != nil {
		t.Fatalf("new member signs in: %v", err)
	}
	if auditCount(t, s, owner.AccountID, "member.invite") != 2 || auditCount(t, s, owner.AccountID, "member.accept") != 1 {
		t.Error("invite and accept are not audited")
	}
}

func TestInvitationsExpire(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{now: time.Now().UTC()}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	if _, err := s.Invite(ctx, owner, store.InviteRequest{Addresses: "late@globex.test", Role: licensing.Member, BaseURL: "http://x"}); err != nil {
		t.Fatal(err)
	}
	token := invitationToken(t, s, "late@globex.test")
	clock.mu.Lock()
	clock.now = clock.now.Add(store.InvitationLifetime + time.Minute)
	clock.mu.Unlock()
	if _, err := s.AcceptInvitation(ctx, store.AcceptRequest{Token: token, Name: "Late", Password: "a-long-password"}); !errors.Is(err, store.ErrInvitationInvalid) {
		t.Fatalf("expired link: %v", err)
	}
}

func TestExistingLoginAcceptsWithItsPasswordAndGetsAnAutoAssignedSeat(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	pools, err := s.SeatPools(ctx, owner.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetAutoAssign(ctx, owner, pools[0].SubscriptionID, true); err != nil {
		t.Fatal(err)
	}
	// Peter has a login at Initech; Globex invites him.
	if _, err := s.Invite(ctx, owner, store.InviteRequest{Addresses: "peter@initech.test", Role: licensing.Member, BaseURL: "http://x"}); err != nil {
		t.Fatal(err)
	}
	token := invitationToken(t, s, "peter@initech.test")
	inv, _ := s.InvitationByToken(ctx, token)
	if !inv.HasLogin() {
		t.Fatal("an existing login is asked for a new password")
	}
	var ve *store.ValidationError
	if _, err := s.AcceptInvitation(ctx, store.AcceptRequest{Token: token, Password: "wrong-password"}); !errors.As(err, &ve) {
		t.Fatalf("wrong password: %v", err)
	}
	login, err := s.AcceptInvitation(ctx, store.AcceptRequest{Token: token, Password: store.DemoPassword})
	if err != nil {
		t.Fatal(err)
	}
	seats, _ := s.MySeats(ctx, login.AccountID, login.MembershipID)
	if !seats["analytics"] {
		t.Fatal("auto-assign gave no seat")
	}
	pools, _ = s.SeatPools(ctx, owner.AccountID)
	if pools[0].Assigned != 8 {
		t.Fatalf("assigned = %d, want 8", pools[0].Assigned)
	}
}
