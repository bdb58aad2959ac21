package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestGlobexOwnerUpgradesWithAPromotionCodeAndSeesTheDiscountOnTheStatement(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newBillingSessionAt(t, width)
		s.signIn("owner@globex.test")
		s.run(
			chromedp.Navigate(s.base+"/billing"),
			press(tid("choose-business")),
			waitVisible(tid("change-confirm")),
			typeInto(tid("promotion-code"), "launch20"),
			press(tid("apply-promotion")),
			waitVisible(`[data-testid="promotion-preview"][data-code="LAUNCH20"]`),
		)
		subtotal, off, total := s.textOf("preview-subtotal"), s.textOf("preview-discount"), s.textOf("preview-total")
		if !strings.HasPrefix(subtotal, "$") || !strings.HasPrefix(off, "-$") || !strings.HasPrefix(total, "$") {
			t.Fatalf("preview: %q %q %q", subtotal, off, total)
		}
		if got := s.textOf("proration-amount"); got != total {
			t.Errorf("charged now %q, the total says %q", got, total)
		}
		s.screenshot("promotion-preview")

		// The statement, once the upgrade's events have landed.
		s.run(press(tid("confirm-change")), waitVisible(tid("billing-done")),
			chromedp.Navigate(s.base+"/billing"), waitVisible(`[data-testid="billing-plan"][data-plan="business"]`))
		line := `[data-testid="billing-invoice"] [data-testid="invoice-discount"][data-code="LAUNCH20"]`
		s.run(waitVisible(line))
		if got := get(s, chromedp.Evaluate[string](`document.querySelector('`+line+`').closest('tr').querySelector('[data-testid="invoice-amount"]').textContent.trim()`)); got != total {
			t.Errorf("the invoice charges %q, the preview said %q", got, total)
		}
		if got := get(s, chromedp.Evaluate[string](`document.querySelector('`+line+`').textContent.trim()`)); !strings.Contains(got, subtotal) || !strings.Contains(got, "LAUNCH20: "+off) {
			t.Errorf("discount line %q, want %s less LAUNCH20: %s", got, subtotal, off)
		}
		s.screenshot("statement-with-discount")
	})
}
