// Package oidcdemo is a real OpenID provider on a loopback port, for the
// tests and the demo: zitadel/oidc's example provider (discovery,
// authorize, token, JWKS, a login form) over an in-memory store of our own
// users and clients. It is no mock: the portal talks to it over HTTP
// exactly as to a customer's Okta or Entra ID. Tests may make it misbehave
// (Tamper) to prove the portal refuses what a hostile provider sends.
package oidcdemo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	exstorage "github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is a person the provider knows.
type User struct {
	Subject       string
	Email         string // also the login name on the provider's form
	Password      string
	Name          string
	EmailVerified bool
	Groups        []string // sent as the ID token's groups claim
}

// Client is an application registered with the provider (the portal of
// one account).
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string
}

// Tampering makes the provider issue ID tokens a hostile or broken provider
// would: another nonce (a replayed token), another audience (a token for
// another application) or another issuer (signed with the same keys, so
// only the issuer check can tell).
type Tampering struct {
	Nonce    string
	Audience []string
	Issuer   string
}

// Provider is a running provider.
type Provider struct {
	Issuer string
	server *http.Server
	users  *userStore

	storage *storage
	mu      sync.Mutex
	tamper  Tampering
	foreign map[string]http.Handler // token endpoints answering as another issuer
}

// Start serves a provider on addr (such as "127.0.0.1:0") whose issuer is
// http://ADDR with the port it got.
func Start(addr string, clients []Client, users []User) (*Provider, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Provider{Issuer: "http://" + ln.Addr().String(), users: &userStore{byID: map[string]User{}}}
	for _, u := range users {
		p.users.put(u)
	}
	registered := map[string]*exstorage.Client{}
	for _, c := range clients {
		registered[c.ID] = exstorage.WebClient(c.ID, c.Secret, c.RedirectURIs...)
	}
	p.storage = &storage{Storage: exstorage.NewStorageWithClients(p.users, registered), p: p}
	router := exampleop.SetupServer(p.Issuer, p.storage, nil, false)
	p.server = &http.Server{Handler: loginPage(p.otherAudience(p.foreignIssuer(router))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(ln) }()
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.server.Shutdown(ctx)
}

// SetUser adds or replaces a user (by subject).
func (p *Provider) SetUser(u User) { p.users.put(u) }

// Tamper makes every ID token issued from now on carry t's values; the
// zero Tampering makes the provider honest again.
func (p *Provider) Tamper(t Tampering) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = t
}

func (p *Provider) tampering() Tampering {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tamper
}

// foreignIssuer answers the token endpoint as the tampering's issuer when
// one is set: the same codes and keys, another "iss".
func (p *Provider) foreignIssuer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss := p.tampering().Issuer
		if iss == "" || r.URL.Path != "/oauth/token" {
			next.ServeHTTP(w, r)
			return
		}
		p.mu.Lock()
		h, ok := p.foreign[iss]
		if !ok {
			h = exampleop.SetupServer(iss, p.storage, nil, false)
			if p.foreign == nil {
				p.foreign = map[string]http.Handler{}
			}
			p.foreign[iss] = h
		}
		p.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// userStore is the provider's users, looked up by subject or login name.
type userStore struct {
	mu   sync.Mutex
	byID map[string]User
}

func (s *userStore) put(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[u.Subject] = u
}

func (s *userStore) get(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byID[id]
	return u, ok
}

func toExample(u User) *exstorage.User {
	first, last, _ := strings.Cut(u.Name, " ")
	return &exstorage.User{ID: u.Subject, Username: u.Email, Password: u.Password, FirstName: first, LastName: last,
		Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: language.English}
}

func (s *userStore) GetUserByID(id string) *exstorage.User {
	if u, ok := s.get(id); ok {
		return toExample(u)
	}
	return nil
}

func (s *userStore) GetUserByUsername(name string) *exstorage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.byID {
		if strings.EqualFold(u.Email, name) {
			return toExample(u)
		}
	}
	return nil
}

func (s *userStore) ExampleClientID() string { return "" }

// storage is the example's in-memory storage with our users, ID tokens
// that carry the profile, email and groups claims, and tampering.
type storage struct {
	*exstorage.Storage
	p *Provider
}

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{c}, nil
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	if err := s.Storage.SetUserinfoFromScopes(ctx, info, userID, clientID, scopes); err != nil {
		return err
	}
	if u, ok := s.p.users.get(userID); ok {
		info.Name = u.Name
		if len(u.Groups) > 0 {
			info.AppendClaims("groups", u.Groups)
		}
	}
	return nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	return tampered{AuthRequest: r, nonce: s.p.tampering().Nonce}, nil
}

// claimsInIDToken puts the userinfo claims (email, email_verified, name,
// groups) into the ID token, as Okta and Entra ID do.
type claimsInIDToken struct{ op.Client }

func (claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }

type tampered struct {
	op.AuthRequest
	nonce string
}

func (r tampered) GetNonce() string {
	if r.nonce != "" {
		return r.nonce
	}
	return r.AuthRequest.GetNonce()
}

// forClient is an authorization as if another application had asked.
type forClient struct {
	op.AuthRequest
	client string
}

func (r forClient) GetClientID() string   { return r.client }
func (r forClient) GetAudience() []string { return []string{r.client} }

// otherAudience answers the token endpoint with an ID token minted for
// the tampering's audience (another application of the same provider)
// in place of the one the client asked for.
func (p *Provider) otherAudience(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		aud := p.tampering().Audience
		if len(aud) == 0 || r.URL.Path != "/oauth/token" || r.ParseForm() != nil {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		ar, err := p.storage.Storage.AuthRequestByCode(ctx, r.PostForm.Get("code"))
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := &capture{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		var body map[string]any
		if rec.status == http.StatusOK && json.Unmarshal(rec.body.Bytes(), &body) == nil {
			if client, err := p.storage.GetClientByClientID(ctx, aud[0]); err == nil {
				if idt, err := op.CreateIDToken(ctx, p.Issuer, forClient{ar, aud[0]}, time.Hour, "", "", p.storage, client); err == nil {
					body["id_token"] = idt
					out, _ := json.Marshal(body)
					rec.body.Reset()
					rec.body.Write(out)
					rec.header.Del("Content-Length")
				}
			}
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// capture keeps a response to rewrite it.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return c.body.Write(b) }
func (c *capture) WriteHeader(status int)      { c.status = status }

// loginPage serves the provider's sign-in form (an accessible page of our
// own; the example's handles the post).
func loginPage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/login/username" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if err := loginForm.Execute(w, r.URL.Query().Get("authRequestID")); err != nil {
				slog.Warn("oidcdemo: login form", "err", err)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

var loginForm = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo identity provider: sign in</title>
<link rel="icon" href="data:,"></head>
<body style="font-family: sans-serif; max-width: 22rem; margin: 3rem auto; padding: 0 1rem;">
<main><h1>Demo identity provider</h1>
<form method="post" action="/login/username" data-testid="idp-login">
<input type="hidden" name="id" value="{{.}}">
<p><label for="username">Email</label><br><input id="username" name="username" autocomplete="username" style="width: 100%"></p>
<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" style="width: 100%"></p>
<p><button type="submit" data-testid="idp-submit">Sign in</button></p>
</form></main></body></html>`))

// Describe is a user as the demo prints it.
func (u User) Describe() string {
	return fmt.Sprintf("%s / %s (groups: %s)", u.Email, u.Password, strings.Join(u.Groups, ", "))
}
