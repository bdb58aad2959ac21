package e2e

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/static"
)

// A page whose form has been sent polls no more while the answer comes:
// a poll answered first could send the browser elsewhere (after "End
// session", the support session's last poll of /seats is redirected to the
// sign-in page, away from the console the form returns to).
func TestAPageOnItsWayOutSendsNoMorePolls(t *testing.T) {
	t.Parallel()
	var polls, pollsWhileSending atomic.Int64
	var sending atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(static.FS)))
	page := func(body string) http.HandlerFunc {
		return smallPage("Leaving", "/static/vendor/htmx.min.js /static/app.js", body)
	}
	mux.HandleFunc("GET /page", page(`<div hx-get="/poll" hx-trigger="every 100ms" hx-swap="none"></div>
<form method="post" action="/send"><button type="submit" id="send">Send</button></form>`))
	mux.HandleFunc("GET /poll", func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		if sending.Load() {
			pollsWhileSending.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /send", func(w http.ResponseWriter, r *http.Request) {
		sending.Store(true)
		time.Sleep(time.Second) // ten polls' time
		sending.Store(false)
		http.Redirect(w, r, "/done", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", page(`<p id="done">Done.</p>`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	s := open(t, srv.URL, nil, desktopWidth)
	s.run(chromedp.Navigate(srv.URL + "/page"))
	for deadline := time.Now().Add(10 * time.Second); polls.Load() < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the page does not poll")
		}
	}
	s.run(press("#send"), waitVisible("#done"))
	if n := pollsWhileSending.Load(); n != 0 {
		t.Errorf("the page sent %d polls while its form was being answered, want none", n)
	}
}
