package licensing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// teamState is an account on a seat-based plan with two seat holders.
func teamState() AccountState {
	return AccountState{Account: "globex", AccountName: "Globex", Products: []ProductState{{
		Product: "analytics", ProductName: "Acme Analytics",
		Plan:         &PlanRef{Key: "team", Name: "Team", Version: 1, Rank: 1, SeatBased: true},
		Subscription: &SubscriptionState{Status: Active, SeatBased: true},
		Seats:        10, SeatsAssigned: 2,
		Features:    []Feature{dashboards, {Key: "exports", Name: "Exports", Kind: Boolean}, apiCalls},
		Values:      map[string]PlanValue{"dashboards": {Enabled: true}, "api_calls": *limited(1000)},
		Usage:       map[string]int64{"api_calls": 400},
		SeatHolders: []SeatHolder{{UserID: 7, Email: "Alice@Globex.test"}, {UserID: 8, Email: "bob@globex.test"}},
	}}}
}

func testKey(t testing.TB, seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func issue(t testing.TB, keyID string, priv ed25519.PrivateKey) []byte {
	t.Helper()
	file, err := SignLicence(Licence{ID: "lic-1", IssuedAt: now, ValidUntil: now.Add(30 * 24 * time.Hour),
		GraceUntil: now.Add(37 * 24 * time.Hour), State: teamState()}, keyID, priv)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

func TestGoodLicenceAnswersChecksLikeTheServer(t *testing.T) {
	t.Parallel()
	pub, priv := testKey(t, 1)
	l, err := VerifyLicence(issue(t, "k1", priv), KeyRing{"k1": pub}, now.Add(time.Hour))
	if err != nil {
		t.Fatalf("good licence refused: %v", err)
	}
	online := NewChecker(teamState())
	for _, c := range []struct{ feature, user string }{
		{"dashboards", ""}, {"dashboards", "alice@globex.test"}, {"dashboards", "7"}, {"dashboards", "carol@globex.test"},
		{"exports", ""}, {"api_calls", ""}, {"api_calls", "bob@globex.test"},
	} {
		got, err := l.Check(c.feature, c.user, now)
		if err != nil {
			t.Fatalf("%s/%s: %v", c.feature, c.user, err)
		}
		want, _ := online.Check(c.feature, c.user, now)
		if show(got.Decision) != show(want.Decision) || got.Plan.Key != "team" || got.Status != Active {
			t.Errorf("%s for %q: offline %s, online %s", c.feature, c.user, show(got.Decision), show(want.Decision))
		}
	}
	if r, _ := l.Check("dashboards", "carol@globex.test", now); r.Decision.Reason != ReasonNoSeat {
		t.Errorf("a user without a seat: %s", r.Decision.Reason)
	}
	if r, _ := l.Check("dashboards", "ALICE@globex.test", now); !r.Decision.HasAccess {
		t.Errorf("a seat holder named in another case: %s", r.Decision.Reason)
	}
	if _, err := l.Check("teleport", "", now); !errors.Is(err, ErrUnknownFeature) {
		t.Errorf("unknown feature: %v", err)
	}
	if len(l.Entitlements) != 3 || l.Entitlements[2].Feature != "api_calls" || *l.Entitlements[2].Remaining != 600 {
		t.Errorf("issued entitlements = %+v", l.Entitlements)
	}
}

func TestBadLicencesGiveDistinctErrors(t *testing.T) {
	t.Parallel()
	pub, priv := testKey(t, 1)
	otherPub, otherPriv := testKey(t, 2)
	good := issue(t, "k1", priv)
	ring := KeyRing{"k1": pub}

	tampered := func(edit func(*Licence)) []byte {
		var f licenceFile
		if err := json.Unmarshal(good, &f); err != nil {
			t.Fatal(err)
		}
		payload, _ := base64.StdEncoding.DecodeString(f.Payload)
		var l Licence
		if err := json.Unmarshal(payload, &l); err != nil {
			t.Fatal(err)
		}
		edit(&l)
		payload, _ = json.Marshal(l)
		f.Payload = base64.StdEncoding.EncodeToString(payload)
		out, _ := json.Marshal(f)
		return out
	}
	tests := []struct {
		name string
		file []byte
		keys KeyRing
		at   time.Time
		want error
	}{
		{"plan upgraded by hand", tampered(func(l *Licence) { l.State.Products[0].Values["exports"] = PlanValue{Enabled: true} }), ring, now, ErrLicenceTampered},
		{"validity extended by hand", tampered(func(l *Licence) { l.GraceUntil = now.AddDate(10, 0, 0) }), ring, now, ErrLicenceTampered},
		{"expired", good, ring, now.Add(37 * 24 * time.Hour), ErrLicenceExpired},
		{"signed by another vendor", issue(t, "other-vendor", otherPriv), ring, now, ErrLicenceUnknownKey},
		{"signed with another key under our key id", issue(t, "k1", otherPriv), ring, now, ErrLicenceTampered},
		{"retired key", good, KeyRing{"k2": otherPub}, now, ErrLicenceUnknownKey},
		{"not a licence", []byte("hello"), ring, now, ErrLicenceMalformed},
		{"another format", bytes.Replace(good, []byte(LicenceFormat), []byte("entitle-licence/v9"), 1), ring, now, ErrLicenceMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := VerifyLicence(tt.file, tt.keys, tt.at)
			if !errors.Is(err, tt.want) || l != nil {
				t.Fatalf("VerifyLicence = %v, %v; want %v", l, err, tt.want)
			}
			for _, other := range []error{ErrLicenceTampered, ErrLicenceExpired, ErrLicenceUnknownKey, ErrLicenceMalformed} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %q also matches %v", err, other)
				}
			}
		})
	}
}

func TestLicenceInGraceStillAnswersThenExpires(t *testing.T) {
	t.Parallel()
	pub, priv := testKey(t, 1)
	inGrace := now.Add(31 * 24 * time.Hour)
	l, err := VerifyLicence(issue(t, "k1", priv), KeyRing{"k1": pub}, inGrace)
	if err != nil {
		t.Fatalf("licence in grace refused: %v", err)
	}
	if !l.InGrace(inGrace) || l.InGrace(now) {
		t.Errorf("InGrace: %v at grace, %v before", l.InGrace(inGrace), l.InGrace(now))
	}
	if r, err := l.Check("dashboards", "", inGrace); err != nil || !r.Decision.HasAccess {
		t.Errorf("check in grace: %+v %v", r, err)
	}
	// A long-running application keeps asking the licence it verified once.
	if _, err := l.Check("dashboards", "", l.GraceUntil); !errors.Is(err, ErrLicenceExpired) {
		t.Errorf("check after grace: %v", err)
	}
}

func TestKeyRingRoundTrip(t *testing.T) {
	t.Parallel()
	pub, priv := testKey(t, 3)
	data, err := MarshalKeyRing([]PublicKeyInfo{{KeyID: "k3", Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), CreatedAt: now}})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := ParseKeyRing(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLicence(issue(t, "k3", priv), ring, now); err != nil {
		t.Fatalf("licence against parsed ring: %v", err)
	}
	for _, bad := range []string{`{}`, `{"format":"entitle-keys/v1","keys":[]}`,
		`{"format":"entitle-keys/v1","keys":[{"key_id":"x","algorithm":"Ed25519","public_key":"AAAA"}]}`} {
		if _, err := ParseKeyRing([]byte(bad)); err == nil {
			t.Errorf("ParseKeyRing(%s) accepted", bad)
		}
	}
}

func TestAdmitUsageKeepsLimitsHard(t *testing.T) {
	t.Parallel()
	p := teamState().Products[0] // api_calls: 400 of 1000 used
	d, err := AdmitUsage(p, "api_calls", 600, now)
	if err != nil || d.HasAccess || d.Reason != ReasonLimitReached || d.Used != 1000 {
		t.Errorf("exactly up to the limit: %s, %v", show(d), err)
	}
	var refused *UsageRefusedError
	if _, err := AdmitUsage(p, "api_calls", 601, now); !errors.As(err, &refused) || refused.Decision.Reason != ReasonLimitReached ||
		*refused.Decision.Remaining != 600 {
		t.Errorf("one past the limit: %v", err)
	}
	p.Usage["api_calls"] = 1000
	if _, err := AdmitUsage(p, "api_calls", 1, now); !errors.As(err, &refused) || refused.Decision.Reason != ReasonLimitReached {
		t.Errorf("at the limit: %v", err)
	}
	p.Subscription = &SubscriptionState{Status: Suspended}
	if _, err := AdmitUsage(p, "api_calls", 1, now); !errors.As(err, &refused) || refused.Decision.Reason != ReasonSuspended {
		t.Errorf("suspended: %v", err)
	}
	if _, err := AdmitUsage(p, "dashboards", 1, now); !errors.Is(err, ErrNotMetered) {
		t.Errorf("boolean feature: %v", err)
	}
	if _, err := AdmitUsage(p, "teleport", 1, now); !errors.Is(err, ErrUnknownFeature) {
		t.Errorf("unknown feature: %v", err)
	}
}

func TestCheckerMatchesProductStateCheck(t *testing.T) {
	t.Parallel()
	s := teamState()
	c := NewChecker(s)
	all := c.CheckAll("bob@globex.test", now)
	if len(all) != 3 {
		t.Fatalf("CheckAll: %d results", len(all))
	}
	for _, r := range all {
		want, _ := s.Products[0].Check(r.Feature.Key, s.Products[0].Seat("bob@globex.test"), now)
		if show(r.Decision) != show(want) {
			t.Errorf("%s: checker %s, product state %s", r.Feature.Key, show(r.Decision), show(want))
		}
	}
	if s.Products[0].Seat("") != SeatNotChecked || s.Products[0].Seat("8") != SeatHeld || s.Products[0].Seat("9") != SeatNotHeld {
		t.Error("Seat does not read user ids")
	}
}

// TestImportsStandardLibraryOnly keeps licensing importable by a vendor's
// application on its own: no database, no web, no third-party module.
func TestImportsStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: licensing must stay standard-library only", name, path)
			}
		}
	}
	if _, err := os.Stat("doc.go"); err != nil {
		t.Fatal("run from the licensing directory")
	}
}

func FuzzVerifyLicence(f *testing.F) {
	pub, priv := testKey(f, 1)
	good := issue(f, "k1", priv)
	f.Add(good)
	f.Add([]byte(`{"format":"entitle-licence/v1","key_id":"k1","payload":"e30=","signature":""}`))
	f.Add([]byte("{}"))
	ring := KeyRing{"k1": pub}
	f.Fuzz(func(t *testing.T, file []byte) {
		l, err := VerifyLicence(file, ring, now)
		if err == nil {
			// Anything accepted must carry our signature over its payload:
			// only the seed itself (re-spaced JSON at most) can pass.
			if l == nil || l.ID != "lic-1" {
				t.Fatalf("accepted a licence that was never signed: %+v", l)
			}
			_, _ = l.Check("dashboards", "alice@globex.test", now)
			return
		}
		known := false
		for _, e := range []error{ErrLicenceTampered, ErrLicenceExpired, ErrLicenceUnknownKey, ErrLicenceMalformed} {
			known = known || errors.Is(err, e)
		}
		if !known {
			t.Fatalf("error outside the documented set: %v", err)
		}
	})
}
