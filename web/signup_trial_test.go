package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/licensing"
)

func TestSignupVerifyPageSaysWhichPlanStartsAndWithHowManySeats(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	_, doc := p.get(newClient(), "/signup?plan=business")
	if got := strings.Join(strings.Fields(doc.Find(`[data-testid="signup-plan"] option[value="business"]`).Text()), " "); !strings.Contains(got, "14-day trial with 5 seats") {
		t.Errorf("the sign-up form's Business: %q", got)
	}
	for _, tc := range []struct {
		plan string
		want *regexp.Regexp
	}{
		{"business", regexp.MustCompile(`^It starts a 14-day trial of Business with 5 seats \(one of them yours\), ending \d{1,2} \w{3} \d{4}\. No card is needed\.$`)},
		{"", regexp.MustCompile(`^It starts on Free, which costs nothing\.$`)},
		{"team", regexp.MustCompile(`^Next you choose how many seats of Team to buy, and pay at checkout\.$`)},
	} {
		email := "vera+" + tc.plan + "@vandelay.test"
		_, doc := p.signUpAndVerify(newClient(), email, tc.plan)
		if got := text(doc, "verify-plan"); !tc.want.MatchString(got) {
			t.Errorf("verify page for %q says %q", tc.plan, got)
		}
	}
}

func TestSignupTrialIsWelcomedWithThePlanAndWhenItEnds(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := newClient()
	link, _ := p.signUpAndVerify(c, "vera@vandelay.test", "business")
	p.submit(c, link, link, url.Values{})
	_, doc := p.get(c, "/")
	welcome := text(doc, "flash")
	process(t, b)
	_, doc = p.get(c, "/")
	ends := regexp.MustCompile(`ends ([^)]+)\)`).FindStringSubmatch(text(doc, "trial-countdown"))
	if ends == nil {
		t.Fatalf("no trial end on the overview: %q", text(doc, "trial-countdown"))
	}
	want := "Welcome to Entitle: your account Vandelay Industries is ready on a 14-day trial of Business with 5 seats (one of them yours), ending " + ends[1] + "."
	if welcome != want {
		t.Errorf("welcome = %q\nwant      %q", welcome, want)
	}
}

func TestInvitationAsksForThePasswordRuleSignupAsksFor(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	owner, token := p.session("owner@globex.test")
	p.postAndFollow(owner, "/members/invite", url.Values{"_csrf": {token}, "role": {"member"}, "emails": {"nina@globex.test"}})
	invited := newClient()
	_, invitation := p.get(invited, p.inviteLinkFor("nina@globex.test"))
	_, signup := p.get(newClient(), "/signup")
	want := fmt.Sprintf("(%d to %d characters)", licensing.MinPasswordLength, licensing.MaxPasswordLength)
	if inv, sign := text(invitation, "password-rule"), text(signup, "password-rule"); inv != want || sign != want {
		t.Errorf("password rule: invitation %q, sign-up %q; want %q", inv, sign, want)
	}
	if max := invitation.Find(`[data-testid="accept-password"]`).AttrOr("maxlength", ""); max != fmt.Sprint(licensing.MaxPasswordLength) {
		t.Errorf("the invitation's password field takes %q characters at most", max)
	}
	// The rule is the one the acceptance holds to.
	form := url.Values{"name": {"Nina"}, "password": {strings.Repeat("x", licensing.MaxPasswordLength+1)}}
	res, doc := p.submit(invited, p.inviteLinkFor("nina@globex.test"), p.inviteLinkFor("nina@globex.test"), form)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(doc, "accept-error-password"), want[1:len(want)-1]) {
		t.Errorf("a password longer than the rule: %d, %q", res.StatusCode, text(doc, "accept-error-password"))
	}
}
