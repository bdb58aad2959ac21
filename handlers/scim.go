package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/scim"
	"github.com/entitle-dev/entitle/store"
)

// The SCIM 2.0 server at /scim/v2: identity providers create,
// deactivate and group users with a bearer token of one account. These
// handlers turn SCIM documents into store calls with the protocol code of
// package scim; the store never reads SCIM.

// scimMaxResults is the largest page a query returns (filter.maxResults).
const scimMaxResults = 200

const ctxSCIMToken = "entitle.scim_token"

// SetSCIMToken records the token a SCIM request authenticated with.
func SetSCIMToken(c echo.Context, t store.SCIMToken) { c.Set(ctxSCIMToken, t) }

// CurrentSCIMToken is the request's SCIM token.
func CurrentSCIMToken(c echo.Context) (store.SCIMToken, bool) {
	t, ok := c.Get(ctxSCIMToken).(store.SCIMToken)
	return t, ok
}

func scimToken(c echo.Context) store.SCIMToken {
	t, _ := CurrentSCIMToken(c)
	return t
}

func (h *Handler) scimConfig(c echo.Context) scim.Config {
	return scim.Config{BaseURL: h.baseURL(c) + "/scim/v2", MaxResults: scimMaxResults,
		DocumentationURI: h.baseURL(c) + "/settings/provisioning"}
}

// writeSCIM answers with a SCIM document.
func writeSCIM(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, scim.ContentType)
	return c.Blob(status, scim.ContentType, b)
}

// RenderSCIMError answers an error on /scim/v2 with a SCIM error document
// (web/errors.go sends every error under /scim/ here) and returns its
// status. Causes of 500s are logged, never shown.
func (h *Handler) RenderSCIMError(c echo.Context, err error) int {
	var se *scim.Error
	var ve *store.ValidationError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &se):
	case errors.Is(err, store.ErrNotFound):
		se = scim.NotFound("No such resource in this account.")
	case errors.Is(err, store.ErrConflict):
		se = scim.Conflict("%s", strings.TrimPrefix(err.Error(), store.ErrConflict.Error()+": "))
	case errors.As(err, &ve):
		se = scim.BadRequest(scim.InvalidValue, "%s", strings.TrimPrefix(ve.Error(), "invalid input: "))
	case errors.Is(err, store.ErrForbidden):
		se = scim.NewError(http.StatusForbidden, "", "This token may not do that.")
	case errors.As(err, &he):
		msg, _ := he.Message.(string)
		if he.Code == http.StatusNotFound {
			msg = "No such endpoint: the SCIM root is /scim/v2, with /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas."
		}
		se = scim.NewError(he.Code, "", msg)
	default:
		se = scim.Internal()
	}
	if se.Status >= 500 {
		h.log(c).Error("scim request failed", "err", err, "method", c.Request().Method, "path", c.Request().URL.Path)
	}
	if se.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(se.Status)
	} else if werr := writeSCIM(c, se.Status, se); werr != nil {
		h.Logger.Error("write scim error", "err", werr)
	}
	return se.Status
}

// readDoc reads a request body holding one JSON object (as
// application/scim+json or application/json), numbers as json.Number.
func readDoc(c echo.Context) (map[string]any, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, scim.BadRequest(scim.InvalidSyntax, "the body is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, scim.BadRequest(scim.InvalidSyntax, "the body holds more than one JSON value")
	}
	return doc, nil
}

// decodeStored reads a document the store kept.
func decodeStored(raw []byte) map[string]any {
	doc := map[string]any{}
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		_ = dec.Decode(&doc)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	return doc
}

// deleteAttr removes a top-level attribute whatever the case of its name.
func deleteAttr(doc map[string]any, names ...string) {
	for k := range doc {
		for _, n := range names {
			if strings.EqualFold(k, n) {
				delete(doc, k)
			}
		}
	}
}

// withSchema makes sure the document lists schema.
func withSchema(doc map[string]any, schema string) {
	list, _ := doc["schemas"].([]any)
	for _, s := range list {
		if str, ok := s.(string); ok && strings.EqualFold(str, schema) {
			return
		}
	}
	doc["schemas"] = append([]any{schema}, list...)
}

func scimMeta(resourceType, location string, created, updated time.Time) map[string]any {
	return map[string]any{"resourceType": resourceType, "location": location,
		"created": created.UTC().Format(time.RFC3339), "lastModified": updated.UTC().Format(time.RFC3339)}
}

// project honours the attributes and excludedAttributes query parameters
// (RFC 7644 §3.4.2.5) on top-level attributes; id and schemas always stay.
func project(doc map[string]any, attributes, excluded string) map[string]any {
	keyOf := func(name string) string {
		p, err := scim.ParsePath(strings.TrimSpace(name))
		if err != nil {
			return ""
		}
		if p.URN != "" && !strings.EqualFold(p.URN, scim.UserSchema) && !strings.EqualFold(p.URN, scim.GroupSchema) {
			return strings.ToLower(p.URN)
		}
		return strings.ToLower(p.Attr)
	}
	if strings.TrimSpace(attributes) != "" {
		keep := map[string]bool{"id": true, "schemas": true}
		for _, a := range strings.Split(attributes, ",") {
			keep[keyOf(a)] = true
		}
		for k := range doc {
			if !keep[strings.ToLower(k)] {
				delete(doc, k)
			}
		}
	}
	for _, a := range strings.Split(excluded, ",") {
		if k := keyOf(a); k != "" && k != "id" && k != "schemas" {
			deleteAttr(doc, k)
		}
	}
	return doc
}

// excludes reports whether the query leaves attribute name out (so that a
// group's members need not be read).
func excludes(c echo.Context, name string) bool {
	for _, a := range strings.Split(c.QueryParam("excludedAttributes"), ",") {
		if strings.EqualFold(strings.TrimSpace(a), name) {
			return true
		}
	}
	if attrs := c.QueryParam("attributes"); strings.TrimSpace(attrs) != "" {
		for _, a := range strings.Split(attrs, ",") {
			if strings.EqualFold(strings.TrimSpace(a), name) || strings.HasPrefix(strings.ToLower(strings.TrimSpace(a)), name+".") {
				return false
			}
		}
		return true
	}
	return false
}

// page reads startIndex and count.
func scimPage(c echo.Context) (scim.Page, error) {
	return scim.ParsePage(c.QueryParam("startIndex"), c.QueryParam("count"), scimMaxResults)
}

// pageOf slices matches held in memory (filters the store cannot answer).
func pageOf[T any](all []T, page scim.Page) []T {
	start := min(page.Offset(), len(all))
	end := min(start+page.Count, len(all))
	return all[start:end]
}

// eqTerms reads a filter made only of `attr eq "string"` terms joined by
// and, keyed by lower-case attribute path; ok is false for anything else,
// or when an attribute is named twice.
func eqTerms(f scim.Expr) (map[string]scim.Term, bool) {
	terms, ok := scim.EqualityTerms(f)
	if !ok {
		return nil, false
	}
	out := map[string]scim.Term{}
	for _, t := range terms {
		if _, isString := t.Value.(string); !isString {
			return nil, false
		}
		key := strings.ToLower(t.Path.Attr)
		if t.Path.URN != "" && !strings.EqualFold(t.Path.URN, scim.UserSchema) && !strings.EqualFold(t.Path.URN, scim.GroupSchema) {
			return nil, false
		}
		if t.Path.Sub != "" {
			key += "." + strings.ToLower(t.Path.Sub)
		}
		if _, twice := out[key]; twice {
			return nil, false
		}
		out[key] = t
	}
	return out, true
}

func strPtr(v any) *string {
	s, _ := v.(string)
	return &s
}

// kick asks the reconciler to allocate the account's seats right after a
// SCIM write committed (see store.Reconciler).
func (h *Handler) kick(accountID int64) {
	if h.Reconciler != nil {
		h.Reconciler.Kick(accountID)
	}
}
