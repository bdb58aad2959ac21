package handlers

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// Insights: the customer's insights page, its live fragment and
// stream, reclaiming idle seats and the idle policy.

// insightsDays reads ?days= (7, 30 or 90; 30 otherwise).
func insightsDays(c echo.Context) int {
	switch c.QueryParam("days") {
	case "7":
		return 7
	case "90":
		return 90
	}
	return 30
}

// insightsLive gathers the live fragment's figures: the figures only, so
// that the fragment a change re-sends (or the polling fallback asks for)
// costs no history, and one read of the account's seats per change however
// many pages show them.
func (h *Handler) insightsLive(ctx context.Context, cur store.Session) (views.InsightsLive, store.AccountInsights, *licensing.Checker, error) {
	checker, err := h.Checks.Checker(ctx, cur.AccountID) // the API's cached state when its listener runs
	if err != nil {
		return views.InsightsLive{}, store.AccountInsights{}, nil, err
	}
	in, err := h.Figures.Insights(ctx, cur.AccountID, checker)
	if err != nil {
		return views.InsightsLive{}, in, nil, err
	}
	return insightsLiveView(in), in, checker, nil
}

// insightsCharts draws the trend charts of the last `days` days; their
// last point is in's live figures, so charts and tiles agree.
func (h *Handler) insightsCharts(ctx context.Context, cur store.Session, in store.AccountInsights, checker *licensing.Checker, days int) ([]views.ChartView, error) {
	history, err := h.Store.InsightsHistory(ctx, cur.AccountID, days)
	if err != nil {
		return nil, err
	}
	leases, err := h.Store.LeaseUsage(ctx, cur.AccountID, days, checker)
	if err != nil {
		return nil, err
	}
	return insightsChartsView(in, history, leases), nil
}

// Insights shows the insights page.
func (h *Handler) Insights(c echo.Context) error {
	return h.renderInsights(c, nil)
}

func (h *Handler) renderInsights(c echo.Context, preview *views.ReclaimView) error {
	cur, _ := Current(c)
	days := insightsDays(c)
	ctx := c.Request().Context()
	live, in, checker, err := h.insightsLive(ctx, cur)
	if err != nil {
		return err
	}
	charts, err := h.insightsCharts(ctx, cur, in, checker, days)
	if err != nil {
		return err
	}
	// The banners read the same pools Insights just read: one count of the
	// account's seats per page, not two.
	pools := make([]store.SeatPool, 0, len(in.Products))
	for _, p := range in.Products {
		pools = append(pools, p.Pool)
	}
	c.Set(ctxSeatPools, pools)
	v := views.InsightsView{Days: days, CanReclaim: canReclaim(cur), Live: live, Charts: charts, IdleDays: in.Settings.IdleDays,
		AutoDays: int(in.Settings.AutoReclaimDays.Int64), Preview: preview}
	return render(c, http.StatusOK, views.InsightsPage(h.shell(c, "Insights", "insights"), v))
}

// InsightsLive answers the polling fallback with the live fragment.
func (h *Handler) InsightsLive(c echo.Context) error {
	cur, _ := Current(c)
	live, _, _, err := h.insightsLive(c.Request().Context(), cur)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.InsightsLiveFragment(live))
}

// InsightsCharts answers the polling fallback with the trend charts.
func (h *Handler) InsightsCharts(c echo.Context) error {
	cur, _ := Current(c)
	ctx := c.Request().Context()
	_, in, checker, err := h.insightsLive(ctx, cur)
	if err != nil {
		return err
	}
	charts, err := h.insightsCharts(ctx, cur, in, checker, insightsDays(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.InsightsChartsFragment(charts))
}

// sseMaxAge ends a stream after a while: the browser reconnects through
// the session and permission checks again, so a member removed or demoted
// meanwhile stops receiving figures.
const sseMaxAge = 10 * time.Minute

// sseKeepAlive is how often an idle stream sends a comment, so that proxies
// and the browser keep it open.
const sseKeepAlive = 15 * time.Second

// InsightsStream is the live fragment and the trend charts as server-sent
// events (`insights` and `insights-charts`, from one read of the figures):
// the current ones at once (so a reconnect re-reads the state), then fresh
// ones after every change the hub hears of for the account.
func (h *Handler) InsightsStream(c echo.Context) error {
	cur, _ := Current(c)
	days := insightsDays(c)
	ctx := c.Request().Context()
	wake, stop := h.Hub.Subscribe(cur.AccountID)
	defer stop()
	render := func() ([]byte, error) {
		live, in, checker, err := h.insightsLive(ctx, cur)
		if err != nil {
			return nil, err
		}
		charts, err := h.insightsCharts(ctx, cur, in, checker, days)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := views.InsightsLiveFragment(live).Render(ctx, &buf); err != nil {
			return nil, err
		}
		out := sseEvent("insights", buf.Bytes())
		buf.Reset()
		if err := views.InsightsChartsFragment(charts).Render(ctx, &buf); err != nil {
			return nil, err
		}
		return append(out, sseEvent("insights-charts", buf.Bytes())...), nil
	}
	return h.stream(c, wake, render)
}

// stream writes server-sent events: render's events (sseEvent) at once and
// after each wake, until the client goes.
func (h *Handler) stream(c echo.Context, wake <-chan struct{}, render func() ([]byte, error)) error {
	w := c.Response()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx := c.Request().Context()
	send := func() error {
		events, err := render()
		if err != nil {
			return err
		}
		if _, err := w.Write(events); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(); err != nil {
		return nil // the headers are sent: nothing left to report to the client
	}
	tick := time.NewTicker(sseKeepAlive)
	defer tick.Stop()
	end := time.NewTimer(sseMaxAge)
	defer end.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		case <-wake:
			if err := send(); err != nil {
				h.log(c).Debug("insights stream ended", "err", err)
				return nil
			}
		case <-tick.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
			_ = rc.Flush()
		}
	}
}

// sseEvent frames data as one event: every line of it a data: line.
func sseEvent(name string, data []byte) []byte {
	out := make([]byte, 0, len(data)+64)
	out = append(out, "event: "+name+"\n"...)
	for _, line := range bytes.Split(data, []byte("\n")) {
		out = append(out, "data: "...)
		out = append(out, bytes.TrimRight(line, "\r")...)
		out = append(out, '\n')
	}
	return append(out, '\n')
}

// PreviewReclaim answers what reclaiming the selected idle seats (or every
// idle seat of the pool) would do, without doing it.
func (h *Handler) PreviewReclaim(c echo.Context) error {
	return h.reclaim(c, true)
}

// Reclaim takes back the confirmed idle seats.
func (h *Handler) Reclaim(c echo.Context) error {
	return h.reclaim(c, false)
}

func (h *Handler) reclaim(c echo.Context, dryRun bool) error {
	cur, _ := Current(c)
	subID, err := parseID(c.FormValue("subscription"))
	if err != nil {
		return err
	}
	ids, err := formIDs(c)
	if err != nil {
		return err
	}
	results, err := h.Store.ReclaimIdleSeats(c.Request().Context(), cur.Principal(), subID, ids, dryRun)
	if err != nil {
		return err
	}
	if !dryRun && h.Reconciler != nil {
		// Provisioning (#8): freed seats go back to the rules, and the
		// waiting list is served, at once rather than at the next sweep.
		h.Reconciler.Kick(cur.AccountID)
	}
	v := &views.ReclaimView{SubscriptionID: subID, Done: !dryRun}
	for _, r := range results {
		v.Rows = append(v.Rows, views.ReclaimRowView{Email: r.Email, LastActivity: views.FormatActivity(r.LastActivity), Outcome: r.Outcome})
		if r.Outcome == store.SeatReclaimed {
			v.Reclaimable = append(v.Reclaimable, r.MembershipID)
		}
	}
	csrf, _ := c.Get(ctxCSRF).(string)
	if isHTMX(c) && !dryRun {
		// A confirmed reclaim re-renders the product's idle seats: those
		// taken back are no longer listed.
		live, _, _, err := h.insightsLive(c.Request().Context(), cur)
		if err != nil {
			return err
		}
		for _, p := range live.Products {
			if p.SubscriptionID == subID {
				v.ProductName = p.Name
				return render(c, http.StatusOK, views.ReclaimCard(csrf, canReclaim(cur), p, v))
			}
		}
		return store.ErrNotFound
	}
	if v.ProductName, err = h.productOfPool(c, cur.AccountID, subID); err != nil {
		return err
	}
	if isHTMX(c) {
		// Under the Preview button; the form keeps its ticks.
		return render(c, http.StatusOK, views.ReclaimPreview(csrf, *v))
	}
	return h.renderInsights(c, v)
}

// productOfPool names the product of the account's subscription subID
// ("" when it has none by that id).
func (h *Handler) productOfPool(c echo.Context, accountID, subID int64) (string, error) {
	pools, err := h.seatPools(c, accountID)
	if err != nil {
		return "", err
	}
	for _, p := range pools {
		if p.SubscriptionID == subID {
			return p.ProductName, nil
		}
	}
	return "", nil
}

// canReclaim tells whether the signed-in person may reclaim idle seats
// (the insights page shows the forms to reclaim only then).
func canReclaim(cur store.Session) bool {
	return licensing.Can(licensing.Role(cur.Role), licensing.ReclaimSeats)
}

// SetInsightsSettings saves the idle threshold and the automatic reclaim.
func (h *Handler) SetInsightsSettings(c echo.Context) error {
	cur, _ := Current(c)
	idle, err := strconv.Atoi(c.FormValue("idle_days"))
	if err != nil {
		return store.Invalid("idle_days", "a number of days")
	}
	auto, err := strconv.Atoi(c.FormValue("auto_reclaim_days"))
	if err != nil {
		auto = 0
	}
	if err := h.Store.SetInsightsSettings(c.Request().Context(), cur.Principal(), idle, auto); err != nil {
		return err
	}
	return h.done(c, "/insights", "Idle-seat settings saved.")
}
