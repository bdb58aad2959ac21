package e2e

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store/storetest"
)

// TestReclaimingIdleSeatsShowsThePreviewAndTheResultByTheButton: the owner
// ticks an idle holder on Insights, on a desktop and on a phone; a seat
// assigned meanwhile refreshes the figures and the tick stays. Preview
// reclaim shows what would happen where the owner is, and confirming shows
// what happened there too, the holder gone from the idle list.
func TestReclaimingIdleSeatsShowsThePreviewAndTheResultByTheButton(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newLiveSessionAt(t, width)
		s.signIn("owner@globex.test")
		s.run(chromedp.Navigate(s.base+"/insights"), waitVisible(tid("idle-form")))
		s.run(doJS(`() => document.getElementById('insights-stream').dataset.live === '1' || null`))
		const carol = `[data-testid="idle-form"] input[aria-label="Select carol@globex.test"]`
		s.click(carol)
		s.waitFor(`document.querySelector(` + strconv.Quote(carol) + `).checked`)

		// Someone assigns a seat: the live figures change under the form.
		owner := storetest.Principal(t, s.store, "owner@globex.test")
		var sub int64
		if err := s.store.DB().Get(&sub, `SELECT s.id FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = 'globex'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.AssignSeats(context.Background(), owner, sub, []int64{storetest.Principal(t, s.store, "erin@globex.test").MembershipID}); err != nil {
			t.Fatal(err)
		}
		s.waitText("insight-assigned", "8")
		s.waitQuiet()
		if !get(s, chromedp.Evaluate[bool](`!!(document.querySelector(`+strconv.Quote(carol)+`) || {}).checked`)) {
			t.Errorf("at %d px the live refresh cleared the tick beside carol@globex.test", width)
		}

		s.click(tid("reclaim-preview"))
		s.run(waitVisible(`[data-testid="reclaim-preview-result"][data-done="false"]`))
		s.waitQuiet()
		if !s.inView("reclaim-preview-result") {
			t.Errorf("at %d px the preview is out of sight (its top %v px, window %v px high)", width,
				get(s, chromedp.Evaluate[float64](`document.querySelector('[data-testid="reclaim-preview-result"]').getBoundingClientRect().top`)),
				get(s, chromedp.Evaluate[float64](`window.innerHeight`)))
		}
		if got := s.textOf("reclaim-outcome"); got != "Would be reclaimed" {
			t.Errorf("the preview's outcome for carol reads %q", got)
		}
		if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="reclaim-row"]').length`)); n != 1 {
			t.Errorf("the preview of one ticked holder lists %d", n)
		}
		// Every outcome can be read where it is: nothing of the preview lies
		// beyond the window (on a phone its Outcome column was cut off).
		if outside := get(s, chromedp.Evaluate[int](`[...document.querySelectorAll('[data-testid="reclaim-table"] td, [data-testid="reclaim-confirm"]')]
			.filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length`)); outside > 0 {
			t.Errorf("at %d px, %d parts of the preview lie beyond the window", width, outside)
		}
		s.screenshot("reclaim-preview")

		if got := s.textOf("reclaim-confirm"); got != "Reclaim 1 seat" {
			t.Errorf("the confirmation reads %q", got)
		}
		s.click(tid("reclaim-confirm"))
		s.run(waitVisible(`[data-testid="reclaim-preview-result"][data-done="true"]`))
		s.waitQuiet()
		if !s.inView("reclaim-preview-result") {
			t.Errorf("at %d px the result is out of sight (its top %v px)", width,
				get(s, chromedp.Evaluate[float64](`document.querySelector('[data-testid="reclaim-preview-result"]').getBoundingClientRect().top`)))
		}
		if got := s.textOf("reclaim-outcome"); got != "Reclaimed" {
			t.Errorf("the result's outcome for carol reads %q", got)
		}
		if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="idle-holder"]').length`)); n != 1 {
			t.Errorf("%d idle holders listed after carol's seat was reclaimed, want dave alone", n)
		}
		s.waitText("insight-idle", "1")
		s.screenshot("reclaim-done")
	})
}
