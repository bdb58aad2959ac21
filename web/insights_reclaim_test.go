package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/store"
)

// outcomes reads the Outcome column of a reclaim's table, by the store's
// outcome of each row.
func outcomes(doc *goquery.Document) map[string][]string {
	out := map[string][]string{}
	doc.Find(`[data-testid="reclaim-row"]`).Each(func(_ int, s *goquery.Selection) {
		o, _ := s.Attr("data-outcome")
		out[o] = append(out[o], strings.TrimSpace(s.Find(`[data-testid="reclaim-outcome"]`).Text()))
	})
	return out
}

// TestThePreviewSaysWhatWouldHappenAndTheResultWhatDid: before the admin
// confirms, the two idle seats "Would be reclaimed"; once confirmed, they
// were "Reclaimed". The same through htmx, whose answers are the preview
// alone and then the product's idle seats with the result.
func TestThePreviewSaysWhatWouldHappenAndTheResultWhatDid(t *testing.T) {
	t.Parallel()
	for _, htmx := range []bool{false, true} {
		name := "page"
		if htmx {
			name = "htmx"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPortal(t)
			c := p.login("admin@globex.test")
			_, doc := p.get(c, "/insights")
			token := csrfToken(doc)
			sub := globexSub(t, p)
			post := func(path string, form url.Values) *goquery.Document {
				t.Helper()
				var res *http.Response
				if htmx {
					res, doc = p.htmx(c, http.MethodPost, path, token, form)
				} else {
					res, doc = p.post(c, path, form)
				}
				if res.StatusCode != http.StatusOK {
					t.Fatalf("POST %s: %d %s", path, res.StatusCode, text(doc, "error-message"))
				}
				return doc
			}
			doc = post("/insights/reclaim/preview", url.Values{"_csrf": {token}, "subscription": {id(sub)}})
			got := outcomes(doc)
			if strings.Join(got[store.SeatReclaimed], ",") != "Would be reclaimed,Would be reclaimed" {
				t.Errorf("the preview's idle seats read %q, want \"Would be reclaimed\" twice", got[store.SeatReclaimed])
			}
			if n := queryCount(t, p, `SELECT count(*) FROM seat_assignment WHERE subscription_id = $1`, sub); n != 7 {
				t.Fatalf("the preview changed seats: %d", n)
			}
			form := url.Values{"_csrf": {token}, "subscription": {id(sub)}}
			doc.Find(`[data-testid="reclaim-confirm-form"] input[name="member_id"]`).Each(func(_ int, s *goquery.Selection) {
				v, _ := s.Attr("value")
				form.Add("member_id", v)
			})
			doc = post("/insights/reclaim", form)
			if got := outcomes(doc); strings.Join(got[store.SeatReclaimed], ",") != "Reclaimed,Reclaimed" {
				t.Errorf("the confirmed reclaim reads %q, want \"Reclaimed\" twice", got[store.SeatReclaimed])
			}
			if done, _ := doc.Find(`[data-testid="reclaim-preview-result"]`).Attr("data-done"); done != "true" {
				t.Errorf("the result is marked done=%q", done)
			}
			if n := doc.Find(`[data-testid="idle-holder"]`).Length(); n != 0 {
				t.Errorf("%d holders whose seats were reclaimed are still listed idle", n)
			}
		})
	}
}

// TestTheIdleFormSaysWhatTickingNoneReclaims: the rule beside the button
// says that with none ticked every idle seat of the product is reclaimed,
// those not listed too, and a preview with none ticked does that.
func TestTheIdleFormSaysWhatTickingNoneReclaims(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("admin@globex.test")
	_, doc := p.get(c, "/insights")
	if got, want := text(doc, "reclaim-rule"), "Tick the people whose seats to reclaim, or tick none to reclaim every idle seat of Acme Analytics (the 2 listed). Nothing is reclaimed until you confirm."; got != want {
		t.Errorf("the rule reads %q, want %q", got, want)
	}

	sub := globexSub(t, p)
	long := p.store.Now().AddDate(-1, 0, 0)
	if _, err := p.store.DB().Exec(`
WITH acc AS (SELECT id FROM account WHERE slug = 'globex'),
u AS (INSERT INTO app_user (email) SELECT 'idle' || i || '@globex.test' FROM generate_series(1, 120) i RETURNING id),
m AS (INSERT INTO membership (account_id, user_id, role, status) SELECT acc.id, u.id, 'member', 'active' FROM acc, u RETURNING id, account_id)
INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at) SELECT m.account_id, $1, m.id, $2 FROM m`, sub, long); err != nil {
		t.Fatal(err)
	}
	if _, err := p.store.DB().Exec(`UPDATE subscription SET seats = 200 WHERE id = $1`, sub); err != nil {
		t.Fatal(err)
	}
	_, doc = p.get(c, "/insights")
	if got, want := text(doc, "reclaim-rule"), "Tick the people whose seats to reclaim, or tick none to reclaim every idle seat of Acme Analytics (all 122, including the 22 not listed). Nothing is reclaimed until you confirm."; got != want {
		t.Errorf("with more idle than listed the rule reads %q, want %q", got, want)
	}
	_, doc = p.post(c, "/insights/reclaim/preview", url.Values{"_csrf": {csrfToken(doc)}, "subscription": {id(sub)}})
	if n := len(outcomes(doc)[store.SeatReclaimed]); n != 122 {
		t.Errorf("with none ticked the preview reclaims %d seats, want the 122 the rule promised", n)
	}
}

// TestTheLiveRefreshLeavesTheReclaimFormAlone: the fragment the live
// refresh swaps in (polled, or sent by the stream) holds the figures and no
// form, and on the page the idle form sits outside the part it replaces: a
// tick, or a form being submitted, is never replaced under the person.
func TestTheLiveRefreshLeavesTheReclaimFormAlone(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("admin@globex.test")
	_, live := p.get(c, "/insights/live")
	if got := text(live, "insight-idle"); got != "2" {
		t.Fatalf("the live fragment's idle figure %q, want 2", got)
	}
	if n := live.Find(`form, input, button`).Length(); n != 0 {
		t.Errorf("the live fragment holds %d form controls, which each refresh would replace", n)
	}
	_, doc := p.get(c, "/insights")
	if n := doc.Find(`#insights-live [data-testid="idle-form"], #insights-live input`).Length(); n != 0 {
		t.Errorf("%d parts of the idle form sit inside the live part", n)
	}
	form := doc.Find(`[data-testid="idle-seats"] [data-testid="idle-form"]`)
	if form.Length() != 1 || form.Find(`input[name="member_id"]`).Length() != 2 {
		t.Errorf("the idle form with its two holders is not on the page beside the live part")
	}
}
