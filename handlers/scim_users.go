package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/scim"
	"github.com/entitle-dev/entitle/store"
)

// userResource is a provisioned user as SCIM answers it: the document as
// stored, with the server's id, active, groups and meta.
func userResource(cfg scim.Config, u store.SCIMUser) map[string]any {
	doc := decodeStored(u.Attributes)
	doc["id"] = u.ID
	doc["active"] = u.Active
	withSchema(doc, scim.UserSchema)
	deleteAttr(doc, "groups", "meta", "password")
	if len(u.Groups) > 0 {
		groups := make([]any, 0, len(u.Groups))
		for _, g := range u.Groups {
			groups = append(groups, map[string]any{"value": g.Value, "display": g.Display,
				"$ref": cfg.BaseURL + "/Groups/" + g.Value, "type": "direct"})
		}
		doc["groups"] = groups
	}
	doc["meta"] = scimMeta("User", cfg.BaseURL+"/Users/"+u.ID, u.Created, u.Updated)
	return doc
}

// userInput summarises a prepared (or patched) user document for the store.
func userInput(doc map[string]any) (store.SCIMUserInput, error) {
	deleteAttr(doc, "id", "meta", "groups", "password")
	sum, err := scim.SummarizeUser(doc)
	if err != nil {
		return store.SCIMUserInput{}, err
	}
	attrs, err := json.Marshal(doc)
	if err != nil {
		return store.SCIMUserInput{}, err
	}
	return store.SCIMUserInput{UserName: sum.UserName, ExternalID: sum.ExternalID, Email: sum.Email,
		Name: personName(doc, sum.DisplayName), Active: sum.Active, Attributes: attrs}, nil
}

// personName is how the portal names the person: displayName, else the
// formatted name, else given and family name.
func personName(doc map[string]any, displayName string) string {
	if strings.TrimSpace(displayName) != "" {
		return strings.TrimSpace(displayName)
	}
	var name map[string]any
	for k, v := range doc {
		if strings.EqualFold(k, "name") {
			name, _ = v.(map[string]any)
		}
	}
	part := func(key string) string {
		for k, v := range name {
			if s, ok := v.(string); ok && strings.EqualFold(k, key) {
				return strings.TrimSpace(s)
			}
		}
		return ""
	}
	if f := part("formatted"); f != "" {
		return f
	}
	return strings.TrimSpace(part("givenName") + " " + part("familyName"))
}

// SCIMListUsers answers GET /Users: a filter (eq on userName, externalId,
// id, displayName, emails.value and emails[type eq "…"].value, joined by
// and, from an index; any other filter evaluated on every user), paging
// by startIndex and count in a stable order. No match is a 200 with
// totalResults 0.
func (h *Handler) SCIMListUsers(c echo.Context) error {
	tok, cfg, ctx := scimToken(c), h.scimConfig(c), c.Request().Context()
	page, err := scimPage(c)
	if err != nil {
		return err
	}
	q := store.SCIMUserQuery{Offset: page.Offset(), Limit: page.Count}
	var filter scim.Expr
	if f := strings.TrimSpace(c.QueryParam("filter")); f != "" {
		if filter, err = scim.ParseFilter(f); err != nil {
			return err
		}
		if !userQuery(filter, &q) {
			return h.scimListUsersByMatch(c, filter, page)
		}
	}
	users, total, err := h.Store.SCIMUsers(ctx, tok.AccountID, q)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(users))
	for _, u := range users {
		out = append(out, project(userResource(cfg, u), c.QueryParam("attributes"), c.QueryParam("excludedAttributes")))
	}
	return writeSCIM(c, http.StatusOK, scim.NewListResponse(out, total, page))
}

// userQuery turns an equality filter into the store's indexed query.
func userQuery(f scim.Expr, q *store.SCIMUserQuery) bool {
	terms, ok := eqTerms(f)
	if !ok {
		return false
	}
	for key, t := range terms {
		switch {
		case key == "username":
			q.UserName = strPtr(t.Value)
		case key == "externalid":
			q.ExternalID = strPtr(t.Value)
		case key == "id":
			q.ID = strPtr(t.Value)
		case key == "displayname":
			q.DisplayName = strPtr(t.Value)
		case key == "emails.value" || key == "emails":
			q.Email = strPtr(t.Value)
			if t.Path.Filter != nil {
				typ, ok := emailType(t.Path.Filter)
				if !ok {
					return false
				}
				q.EmailType = &typ
			}
		default:
			return false
		}
	}
	return true
}

// emailType reads the value filter of emails[type eq "work"].
func emailType(f scim.Expr) (string, bool) {
	c, ok := f.(scim.Compare)
	if !ok || c.Op != scim.Eq || !c.Path.Is("type") {
		return "", false
	}
	s, ok := c.Value.(string)
	return s, ok
}

func (h *Handler) scimListUsersByMatch(c echo.Context, filter scim.Expr, page scim.Page) error {
	tok, cfg := scimToken(c), h.scimConfig(c)
	users, err := h.Store.AllSCIMUsers(c.Request().Context(), tok.AccountID)
	if err != nil {
		return err
	}
	attrs := scim.UserAttributes()
	var matched []map[string]any
	for _, u := range users {
		if r := userResource(cfg, u); attrs.Match(filter, r) {
			matched = append(matched, r)
		}
	}
	out := make([]map[string]any, 0, page.Count)
	for _, r := range pageOf(matched, page) {
		out = append(out, project(r, c.QueryParam("attributes"), c.QueryParam("excludedAttributes")))
	}
	return writeSCIM(c, http.StatusOK, scim.NewListResponse(out, len(matched), page))
}

// SCIMGetUser answers GET /Users/{id}; a deactivated user stays readable.
func (h *Handler) SCIMGetUser(c echo.Context) error {
	tok := scimToken(c)
	u, err := h.Store.SCIMUser(c.Request().Context(), tok.AccountID, c.Param("id"))
	if err != nil {
		return err
	}
	return writeSCIM(c, http.StatusOK, project(userResource(h.scimConfig(c), u), c.QueryParam("attributes"),
		c.QueryParam("excludedAttributes")))
}

// SCIMCreateUser answers POST /Users: 201 with the user, or 409 uniqueness
// for a userName in use (in any case).
func (h *Handler) SCIMCreateUser(c echo.Context) error {
	tok, cfg := scimToken(c), h.scimConfig(c)
	in, err := readUser(c)
	if err != nil {
		return err
	}
	u, err := h.Store.CreateSCIMUser(c.Request().Context(), tok, in)
	if err != nil {
		return err
	}
	res := userResource(cfg, u)
	c.Response().Header().Set(echo.HeaderLocation, cfg.BaseURL+"/Users/"+u.ID)
	return writeSCIM(c, http.StatusCreated, res)
}

// SCIMReplaceUser answers PUT /Users/{id}: the body replaces the document
// (Okta PUTs back what it read, id, meta and groups included: ignored).
func (h *Handler) SCIMReplaceUser(c echo.Context) error {
	in, err := readUser(c)
	if err != nil {
		return err
	}
	return h.updateUser(c, func(store.SCIMUser) (store.SCIMUserInput, error) { return in, nil })
}

// SCIMPatchUser answers PATCH /Users/{id}, atomically: any failing
// operation leaves the user as it was.
func (h *Handler) SCIMPatchUser(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	patch, err := scim.ParsePatch(body)
	if err != nil {
		return err
	}
	attrs := scim.UserAttributes()
	return h.updateUser(c, func(cur store.SCIMUser) (store.SCIMUserInput, error) {
		doc := decodeStored(cur.Attributes)
		doc["id"], doc["active"] = cur.ID, cur.Active
		out, err := attrs.ApplyPatch(doc, patch)
		if err != nil {
			return store.SCIMUserInput{}, err
		}
		return userInput(out)
	})
}

func (h *Handler) updateUser(c echo.Context, change func(store.SCIMUser) (store.SCIMUserInput, error)) error {
	tok := scimToken(c)
	before := true
	u, err := h.Store.UpdateSCIMUser(c.Request().Context(), tok, c.Param("id"), func(cur store.SCIMUser) (store.SCIMUserInput, error) {
		before = cur.Active
		return change(cur)
	})
	if err != nil {
		return err
	}
	if before != u.Active { // seats freed or wanted: the waiting lists move
		h.kick(tok.AccountID)
	}
	return writeSCIM(c, http.StatusOK, userResource(h.scimConfig(c), u))
}

// SCIMDeleteUser answers DELETE /Users/{id} with 204; the id is gone.
func (h *Handler) SCIMDeleteUser(c echo.Context) error {
	tok := scimToken(c)
	if err := h.Store.DeleteSCIMUser(c.Request().Context(), tok, c.Param("id")); err != nil {
		return err
	}
	h.kick(tok.AccountID)
	return c.NoContent(http.StatusNoContent)
}

func readBody(c echo.Context) ([]byte, error) { return io.ReadAll(c.Request().Body) }

// readUser reads a User document from the request body as create and PUT
// take it: read-only attributes dropped, then the fields the store keeps.
func readUser(c echo.Context) (store.SCIMUserInput, error) {
	doc, err := readDoc(c)
	if err != nil {
		return store.SCIMUserInput{}, err
	}
	prepared, err := scim.UserAttributes().Prepare(doc)
	if err != nil {
		return store.SCIMUserInput{}, err
	}
	return userInput(prepared)
}
