package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// A machine that misses its heartbeat window shows as dead with when it
// was last seen; the sweep frees its place, audited, and the application's
// next heartbeat is told why.
func TestADeadMachineShowsOnDevicesAndItsAppIsToldAfterTheSweep(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := storetest.NewDemo(t, clk)
	catalog := strings.Replace(string(store.DemoCatalog()), "per: seat", "per: seat\n        heartbeat: 10m\n        on_dead: deactivate", 1)
	cat, err := store.ParseCatalog([]byte(catalog))
	if err != nil {
		t.Fatal(err)
	}
	products, err := cat.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyCatalog(t.Context(), store.SystemActor("test"), products); err != nil {
		t.Fatal(err)
	}
	a := startInstance(t, s, func(o *web.Options) { o.Clock = clk })
	key := a.newKey("globex", store.ScopeCheck)
	base := "/api/v1/accounts/globex/machines"
	var act struct{ Machine struct{ ID string } }
	a.do(http.MethodPost, base, key, `{"fingerprint":"hw-1","name":"cad-1","platform":"linux","user":"alice@globex.test"}`).json(t, &act)
	a.do(http.MethodPost, base, key, `{"fingerprint":"hw-2","name":"cad-2","platform":"linux","user":"alice@globex.test"}`)

	clk.Advance(5 * time.Minute)
	var beat struct {
		Dead             bool `json:"dead"`
		HeartbeatSeconds int  `json:"heartbeat_seconds"`
	}
	a.do(http.MethodPost, base+"/"+act.Machine.ID+"/heartbeat", key, "").json(t, &beat)
	if beat.Dead || beat.HeartbeatSeconds != 600 {
		t.Fatalf("heartbeat answer: %+v", beat)
	}

	// cad-2 has not been heard from for 10 minutes and a second.
	clk.Advance(5*time.Minute + time.Second)
	p := a.portal(t)
	c := p.login("owner@globex.test")
	_, doc := p.get(c, "/devices")
	deadRows := doc.Find(`[data-testid="machine-row"]:has([data-testid="machine-dead"])`)
	if deadRows.Length() != 1 || strings.TrimSpace(deadRows.Find(`[data-testid="machine-name"]`).Text()) != "cad-2" {
		t.Fatalf("dead machines shown: %d %q", deadRows.Length(), deadRows.Text())
	}
	if seen := deadRows.Find(`[data-testid="machine-last-seen"]`).Text(); !strings.Contains(seen, "2 Mar 2026 09:00 UTC") {
		t.Fatalf("the dead machine's last seen: %q", seen)
	}
	var list struct {
		Machines []struct {
			ID   string
			Name string
			Dead bool
		}
	}
	a.get(base, key).json(t, &list)
	if len(list.Machines) != 2 {
		t.Fatalf("machines: %+v", list)
	}
	dead := ""
	for _, m := range list.Machines {
		if m.Dead {
			dead = m.ID
		}
	}
	if dead == "" {
		t.Fatalf("the API shows no dead machine: %+v", list)
	}

	if n, err := s.SweepDeadMachines(t.Context()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	gone := a.do(http.MethodPost, base+"/"+dead+"/heartbeat", key, "").problem(t, http.StatusGone, "machine-deactivated")
	if !strings.Contains(gone.Detail, "heartbeat window") {
		t.Fatalf("the application is not told why: %q", gone.Detail)
	}
	_, doc = p.get(c, "/devices")
	if got := rows(doc, "machine-name"); len(got) != 1 || got[0] != "cad-1" || doc.Find(`[data-testid="machine-dead"]`).Length() != 0 {
		t.Fatalf("after the sweep the page lists %v", got)
	}
	if res := a.do(http.MethodPost, base, key, `{"fingerprint":"hw-3","name":"cad-3","platform":"linux","user":"alice@globex.test"}`); res.status != http.StatusCreated {
		t.Fatalf("activating in the freed place: %d %s", res.status, res.body)
	}
}
