package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestFiftyRequestsRaceForTheLastFiveSeats sends fifty assign requests at
// once, through the real router, to PostgreSQL: exactly five get a seat,
// the other forty-five are told "no seat left", and the pool is never
// oversold.
func TestFiftyRequestsRaceForTheLastFiveSeats(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	f := loadFixture(t, p)
	// Globex: 12 seats, 7 assigned, so 5 free; fifty invited people want one.
	if _, err := p.store.DB().Exec(`UPDATE subscription SET seats = 12 WHERE id = $1`, f.globexSub); err != nil {
		t.Fatal(err)
	}
	c, token := p.session("owner@globex.test")
	var emails []string
	for i := 0; i < 50; i++ {
		emails = append(emails, fmt.Sprintf("racer%02d@globex.test", i))
	}
	if res := p.do(c, token, request{method: "POST", path: "/members/invite", form: url.Values{"emails": {strings.Join(emails, "\n")}, "role": {"member"}}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("invite: %d", res.StatusCode)
	}
	var ids []int64
	if err := p.store.DB().Select(&ids, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email LIKE 'racer%' ORDER BY m.id`); err != nil || len(ids) != 50 {
		t.Fatalf("racers: %d, %v", len(ids), err)
	}

	statuses := make([]int, len(ids))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, member := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = p.do(c, token, request{method: "POST", path: "/seats/assign",
				form: url.Values{"subscription": {id(f.globexSub)}, "member_id": {id(member)}}}).StatusCode
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusSeeOther] != 5 || count[http.StatusConflict] != 45 {
		t.Fatalf("answers = %v, want 5 × 303 (assigned, back to the page) and 45 × 409 (no seat left)", count)
	}
	var assigned int
	_ = p.store.DB().Get(&assigned, `SELECT count(*) FROM seat_assignment WHERE subscription_id = $1`, f.globexSub)
	if assigned != 12 {
		t.Fatalf("%d seats assigned, pool is 12", assigned)
	}
	// The next one is answered in words.
	res, doc := p.post(c, "/seats/assign", url.Values{"_csrf": {token}, "subscription": {id(f.globexSub)}, "email": {"frank@globex.test"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(text(doc, "error-message"), "No seat left") {
		t.Fatalf("one more: %d %q", res.StatusCode, text(doc, "error-message"))
	}
}

func TestSeatCSVUploadAnswersEveryRowAndAppliesOnConfirm(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	f := loadFixture(t, p)
	c, token := p.session("owner@globex.test")
	file := "Email,Name\nfrank@globex.test,Frank\nalice@globex.test,Alice\nghost@globex.test,Ghost\n@@@,Broken\nerin@globex.test,Erin\ngrace@globex.test,Grace\n"
	body, contentType := multipartBody(token, map[string]string{"subscription": id(f.globexSub)}, file)
	res, err := c.Post(p.srv.URL+"/seats/csv", contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d %s", res.StatusCode, text(doc, "error-message"))
	}
	rows := seatResults(doc)
	want := "frank@globex.test=assigned alice@globex.test=already_held ghost@globex.test=unknown_member @@@=malformed erin@globex.test=assigned grace@globex.test=unknown_member"
	if rows != want {
		t.Fatalf("rows:\n%s\nwant\n%s", rows, want)
	}
	if got := strings.TrimSpace(doc.Find(`[data-testid="csv-confirm"]`).Text()); got != "Assign 2 seats" {
		t.Fatalf("confirm button %q", got)
	}
	if got := text(doc, "pool-assigned"); got != "7" {
		t.Fatalf("the preview assigned seats: %s", got)
	}
	// "Invite them" on an unknown row invites that address.
	invite := formOf(doc.Find(`[data-testid="seat-result"][data-input="ghost@globex.test"] [data-testid="invite-row"]`))
	if res, idoc := p.postAndFollow(c, "/members/invite", invite); res.StatusCode != http.StatusOK ||
		idoc.Find(`[data-testid="flash-row"][data-outcome="invited"]`).Length() != 1 {
		t.Fatalf("invite them: %d", res.StatusCode)
	}
	// Confirm: the form the page shows is what the browser submits.
	form := url.Values{}
	doc.Find(`[data-testid="csv-confirm"]`).Closest("form").Find("input").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		form.Add(name, value)
	})
	res, doc = p.postAndFollow(c, "/seats/csv/apply", form)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("apply: %d %s", res.StatusCode, text(doc, "error-message"))
	}
	if got := seatResults(doc); got != "frank@globex.test=assigned erin@globex.test=assigned" {
		t.Fatalf("applied: %s", got)
	}
	if text(doc, "pool-assigned") != "9" || text(doc, "pool-free") != "1" {
		t.Fatalf("after apply: %s assigned, %s free", text(doc, "pool-assigned"), text(doc, "pool-free"))
	}
	// The unknown addresses can be invited from the answer.
	if n := doc.Find(`[data-testid="invite-unknown"]`).Length(); n != 0 {
		t.Errorf("invite button after apply: %d", n)
	}
}

func seatResults(doc *goquery.Document) string {
	var rows []string
	doc.Find(`[data-testid="seat-result"]`).Each(func(_ int, s *goquery.Selection) {
		in, _ := s.Attr("data-input")
		out, _ := s.Attr("data-outcome")
		rows = append(rows, in+"="+out)
	})
	return strings.Join(rows, " ")
}

func TestOverAllocationIsShownAndRefusesNewSeats(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	f := loadFixture(t, p)
	if _, err := p.store.DB().Exec(`UPDATE subscription SET seats = 5 WHERE id = $1`, f.globexSub); err != nil {
		t.Fatal(err)
	}
	c, token := p.session("owner@globex.test")
	for _, page := range []string{"/", "/members", "/seats", "/audit"} {
		_, doc := p.get(c, page)
		if got := text(doc, "banner-over-allocated"); !strings.Contains(got, "7 seats assigned but only 5") {
			t.Errorf("%s banner: %q", page, got)
		}
	}
	_, doc := p.get(c, "/seats")
	if doc.Find(`[data-testid="suggest-unassign"]`).Length() != 2 || text(doc, "over-allocated") == "" {
		t.Fatalf("seats page suggests %d holders", doc.Find(`[data-testid="suggest-unassign"]`).Length())
	}
	res, _ := p.post(c, "/seats/assign", url.Values{"_csrf": {token}, "subscription": {id(f.globexSub)}, "member_id": {id(f.member["frank"])}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("assign while over-allocated: %d", res.StatusCode)
	}
	// A vendor grant of two seats makes the pool whole: no banner.
	if _, err := p.store.DB().Exec(`INSERT INTO entitlement_grant (account_id, kind, product_id, amount, reason, created_by)
		SELECT account_id, 'extra_seats', product_id, 2, 'goodwill', 'ops@acme.test' FROM subscription WHERE id = $1`, f.globexSub); err != nil {
		t.Fatal(err)
	}
	_, doc = p.get(c, "/seats")
	if doc.Find(`[data-testid="banner-over-allocated"]`).Length() != 0 || text(doc, "pool-granted") != "+2 granted" {
		t.Fatalf("with the grant: banner %d, granted %q", doc.Find(`[data-testid="banner-over-allocated"]`).Length(), text(doc, "pool-granted"))
	}
}

// formOf is the form around a button, as the browser would submit it.
func formOf(button *goquery.Selection) url.Values {
	form := url.Values{}
	button.Closest("form").Find("input").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		form.Add(name, value)
	})
	return form
}
