package licensing

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Ann@Example.COM":             "ann@example.com",
		"  bob@globex.test ":          "bob@globex.test",
		"Carol Chen <carol@corp.io>":  "carol@corp.io",
		"dave+tag@sub.domain.example": "dave+tag@sub.domain.example",
		"not-an-address":              "",
		"two@@x.com":                  "",
		"nodot@localhost":             "",
		"a@-bad-.com":                 "",
		`"quoted space"@x.com`:        "",
		"a@[127.0.0.1]":               "",
		"":                            "",
	} {
		got, ok := NormalizeEmail(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestParseInviteListAnswersPerAddress(t *testing.T) {
	t.Parallel()
	lines, err := ParseInviteList("ann@globex.test, bob@elsewhere.com\nnope\n\nAnn@globex.test; Eve <eve@eu.globex.test> carl@globex.test", []string{"globex.test"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.Input+"="+l.Email+":"+l.Problem)
	}
	want := []string{
		"ann@globex.test=ann@globex.test:",
		"bob@elsewhere.com=bob@elsewhere.com:domain_not_allowed",
		"nope=:malformed",
		"Ann@globex.test=ann@globex.test:duplicate",
		"Eve <eve@eu.globex.test> carl@globex.test=:malformed",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if _, err := ParseInviteList(strings.Repeat("a@b.co ", MaxInviteBatch+1), nil); !errors.Is(err, ErrTooMany) {
		t.Fatalf("too many: %v", err)
	}
}

func TestParseDomains(t *testing.T) {
	t.Parallel()
	got, err := ParseDomains("@Globex.test, globex.com\nglobex.com")
	if err != nil || !reflect.DeepEqual(got, []string{"globex.test", "globex.com"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := ParseDomains("globex.test, not a domain!"); err == nil {
		t.Fatal("a bad entry was accepted")
	}
	if got, err := ParseDomains("  "); err != nil || len(got) != 0 {
		t.Fatalf("empty rules: %q, %v", got, err)
	}
	if !DomainAllowed("x@anything.io", nil) || DomainAllowed("x@globex.test.evil.com", []string{"globex.test"}) {
		t.Fatal("DomainAllowed matches wrongly")
	}
}

func TestParseSeatCSV(t *testing.T) {
	t.Parallel()
	data := "name,Email\nAlice,alice@globex.test\nBob,BOB@globex.test\n,\nBroken,not-an-email\nAlice again,alice@globex.test\nNo email column\n"
	lines, err := ParseSeatCSV([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.Email+":"+l.Problem)
	}
	want := []string{"alice@globex.test:", "bob@globex.test:", ":malformed", "alice@globex.test:duplicate", ":malformed"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if lines[0].Line != 2 || lines[2].Line != 5 {
		t.Errorf("line numbers: %d, %d", lines[0].Line, lines[2].Line)
	}
	// Without a header, the first column holds the address.
	lines, err = ParseSeatCSV([]byte("carol@globex.test\r\ndave@globex.test,extra\r\n"))
	if err != nil || len(lines) != 2 || lines[1].Email != "dave@globex.test" {
		t.Fatalf("headerless: %+v, %v", lines, err)
	}
}

func FuzzParseSeatCSV(f *testing.F) {
	f.Add([]byte("email\nann@x.com\n\"bad,\"quote\n"))
	f.Add([]byte("a@b.co,c\n\n,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseSeatCSV(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, l := range lines {
			if l.Problem == "" {
				if _, ok := NormalizeEmail(l.Email); !ok || seen[l.Email] {
					t.Fatalf("row %+v accepted: not a fresh valid address", l)
				}
				seen[l.Email] = true
			}
		}
	})
}

func FuzzParseInviteList(f *testing.F) {
	f.Add("ann@x.com, Bob <bob@y.org>; nope\n", "x.com")
	f.Fuzz(func(t *testing.T, text, domains string) {
		ds, err := ParseDomains(domains)
		if err != nil {
			return
		}
		lines, err := ParseInviteList(text, ds)
		if err != nil {
			return
		}
		for _, l := range lines {
			if l.Problem == "" && !DomainAllowed(l.Email, ds) {
				t.Fatalf("%+v accepted outside the domain rules %q", l, ds)
			}
		}
	})
}
