package views

// SimView is the local billing simulator's state for one account, shown
// to the buyer (cards and invoices) and to vendor staff (everything).
type SimView struct {
	CustomerID    string
	HasCard       bool
	PaymentsFail  bool
	Now           string // the account's simulated clock
	AheadBy       string // how far it runs ahead of the real one
	Subscriptions []SimSubscriptionView
	Invoices      []SimInvoiceView // newest first
}

// SimSubscriptionView is a simulated Stripe subscription.
type SimSubscriptionView struct {
	ID, Status, PriceID string
	Quantity            int
	PeriodEnd, TrialEnd string
	CancelAtPeriodEnd   bool
	Scheduled           string
}

// SimInvoiceView is a simulated invoice.
type SimInvoiceView struct {
	ID, Amount, Status, Reason, Created string
	Attempts                            int
}

// AdminBillingView is the console's billing page for one account.
type AdminBillingView struct {
	Slug, Name   string
	Plan, Status string // as Entitle holds it
	Pending      int
	Parked       int
	Simulated    bool
	Sim          SimView
	CanControl   bool // operator, admin, support_admin
	CSRF         string
}

// AdminBillingAccount is one line of the console's billing list.
type AdminBillingAccount struct{ Slug, Name, Plan, Status string }

func paymentsText(fail bool) string {
	if fail {
		return "fail"
	}
	return "succeed"
}
