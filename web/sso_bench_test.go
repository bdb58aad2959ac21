package web_test

import (
	"net/http"
	"testing"
)

// BenchmarkSSOSignIn measures a whole sign-in through the identity
// provider over loopback HTTP (the sign-in form, the provider's authorize
// and login, the callback with the code exchange and ID token checks, the
// session), against /healthz over the same client:
// go test -run '^$' -bench SSOSignIn ./web
func BenchmarkSSOSignIn(b *testing.B) {
	r := newSSORig(b)
	b.Run("healthz", func(b *testing.B) {
		c := newClient()
		for b.Loop() {
			res, err := c.Get(r.srv.URL + "/healthz")
			if err != nil || res.StatusCode != http.StatusOK {
				b.Fatal(err)
			}
			res.Body.Close()
		}
	})
	b.Run("round-trip", func(b *testing.B) {
		for b.Loop() {
			res := r.signInThroughIdP(newClient(), "jared@hooli.test")
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
				b.Fatalf("sign-in answered %d", res.StatusCode)
			}
		}
	})
}
