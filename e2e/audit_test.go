package e2e

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// In the audit log the "Who" column keeps an address whole, or breaks it
// only before its "@": at 1280 px the column was squeezed while "Changes"
// took the room, and it read "owner@globex.t" / "est".
func TestTheAuditLogBreaksAnAddressOnlyBeforeItsAt(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSessionAt(t, width)
		// An invitation to a long address: its sentence and its changes
		// want the room.
		owner := storetest.Principal(t, s.store, "owner@globex.test")
		if _, err := s.store.Invite(context.Background(), owner, store.InviteRequest{
			Addresses: "someone.with.a.rather.long.name@globex-subsidiary.test", Role: licensing.Member, BaseURL: s.base}); err != nil {
			t.Fatal(err)
		}
		s.signIn("owner@globex.test")
		s.run(chromedp.Navigate(s.base+"/audit"), waitVisible(tid("audit-table")))
		if broken := s.addressesBrokenMidWord(tid("audit-row-actor")); len(broken) > 0 {
			t.Errorf("/audit at %d px: %d addresses in the Who column break inside a word, e.g. %q", width, len(broken), broken[0])
		}
	})
}

// addressesBrokenMidWord lists the email addresses inside the elements
// matched by sel whose name or domain lies on more than one line (a break
// right before the "@" is allowed), shown with a "|" where they break.
func (s *session) addressesBrokenMidWord(sel string) []string {
	s.t.Helper()
	return get(s, chromedp.Evaluate[[]string](`(() => {
	const out = [];
	document.querySelectorAll(`+strconv.Quote(sel)+`).forEach(el => {
		const chars = []; // each character of the cell's text with its text node
		const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			for (let i = 0; i < n.data.length; i++) chars.push([n, i]);
		}
		const text = chars.map(([n, i]) => n.data[i]).join("");
		const top = k => { const r = document.createRange(); r.setStart(chars[k][0], chars[k][1]); r.setEnd(chars[k][0], chars[k][1] + 1);
			const rects = r.getClientRects(); return rects.length ? Math.round(rects[0].top) : null; };
		for (const m of text.matchAll(/[^\s()@,]+@[^\s(),]+/g)) {
			const at = m.index + m[0].indexOf("@"), end = m.index + m[0].length;
			let shown = "", broken = false;
			for (let k = m.index; k < end; k++) {
				if (k > m.index && top(k) !== top(k - 1)) {
					shown += "|";
					if (k !== at) broken = true;
				}
				shown += text[k];
			}
			if (broken) out.push(shown);
		}
	});
	return out;
})()`))
}
