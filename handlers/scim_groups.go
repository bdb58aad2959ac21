package handlers

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/scim"
	"github.com/entitle-dev/entitle/store"
)

// groupResource is a group as SCIM answers it; members only when read.
func groupResource(cfg scim.Config, g store.SCIMGroup) map[string]any {
	doc := decodeStored(g.Attributes)
	deleteAttr(doc, "members", "meta", "displayName", "id")
	doc["id"], doc["displayName"] = g.ID, g.DisplayName
	withSchema(doc, scim.GroupSchema)
	if g.Members != nil {
		members := make([]any, 0, len(g.Members))
		for _, m := range g.Members {
			members = append(members, map[string]any{"value": m.Value, "display": m.Display,
				"$ref": cfg.BaseURL + "/Users/" + m.Value, "type": "User"})
		}
		doc["members"] = members
	}
	doc["meta"] = scimMeta("Group", cfg.BaseURL+"/Groups/"+g.ID, g.Created, g.Updated)
	return doc
}

// groupInput summarises a prepared group document: its columns, the
// document to keep (without members) and its member ids.
func groupInput(doc map[string]any) (store.SCIMGroupInput, []string, error) {
	sum, err := scim.SummarizeGroup(doc)
	if err != nil {
		return store.SCIMGroupInput{}, nil, err
	}
	deleteAttr(doc, "members", "id", "meta")
	attrs, err := json.Marshal(doc)
	if err != nil {
		return store.SCIMGroupInput{}, nil, err
	}
	return store.SCIMGroupInput{DisplayName: sum.DisplayName, ExternalID: sum.ExternalID, Attributes: attrs}, sum.MemberIDs, nil
}

// SCIMListGroups answers GET /Groups: eq filters on displayName (how Entra
// and JumpCloud find a group), externalId, id and members.value; members
// left out when excludedAttributes=members.
func (h *Handler) SCIMListGroups(c echo.Context) error {
	tok, cfg := scimToken(c), h.scimConfig(c)
	page, err := scimPage(c)
	if err != nil {
		return err
	}
	q := store.SCIMGroupQuery{Offset: page.Offset(), Limit: page.Count, WithMembers: !excludes(c, "members")}
	if f := strings.TrimSpace(c.QueryParam("filter")); f != "" {
		filter, err := scim.ParseFilter(f)
		if err != nil {
			return err
		}
		if !groupQuery(filter, &q) {
			return h.scimListGroupsByMatch(c, filter, page)
		}
	}
	groups, total, err := h.Store.SCIMGroups(c.Request().Context(), tok.AccountID, q)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		out = append(out, project(groupResource(cfg, g), c.QueryParam("attributes"), c.QueryParam("excludedAttributes")))
	}
	return writeSCIM(c, http.StatusOK, scim.NewListResponse(out, total, page))
}

func groupQuery(f scim.Expr, q *store.SCIMGroupQuery) bool {
	terms, ok := eqTerms(f)
	if !ok {
		return false
	}
	for key, t := range terms {
		switch key {
		case "displayname":
			q.DisplayName = strPtr(t.Value)
		case "externalid":
			q.ExternalID = strPtr(t.Value)
		case "id":
			q.ID = strPtr(t.Value)
		case "members.value", "members":
			if t.Path.Filter != nil {
				return false
			}
			q.MemberID = strPtr(t.Value)
		default:
			return false
		}
	}
	return true
}

func (h *Handler) scimListGroupsByMatch(c echo.Context, filter scim.Expr, page scim.Page) error {
	tok, cfg := scimToken(c), h.scimConfig(c)
	groups, err := h.Store.AllSCIMGroups(c.Request().Context(), tok.AccountID)
	if err != nil {
		return err
	}
	attrs := scim.GroupAttributes()
	var matched []map[string]any
	for _, g := range groups {
		if r := groupResource(cfg, g); attrs.Match(filter, r) {
			matched = append(matched, r)
		}
	}
	out := make([]map[string]any, 0, page.Count)
	for _, r := range pageOf(matched, page) {
		if excludes(c, "members") {
			deleteAttr(r, "members")
		}
		out = append(out, project(r, c.QueryParam("attributes"), c.QueryParam("excludedAttributes")))
	}
	return writeSCIM(c, http.StatusOK, scim.NewListResponse(out, len(matched), page))
}

// SCIMGetGroup answers GET /Groups/{id} (?excludedAttributes=members, as
// Entra asks, skips reading the members).
func (h *Handler) SCIMGetGroup(c echo.Context) error {
	tok := scimToken(c)
	g, err := h.Store.SCIMGroup(c.Request().Context(), tok.AccountID, c.Param("id"), !excludes(c, "members"))
	if err != nil {
		return err
	}
	return writeSCIM(c, http.StatusOK, project(groupResource(h.scimConfig(c), g), c.QueryParam("attributes"),
		c.QueryParam("excludedAttributes")))
}

// SCIMCreateGroup answers POST /Groups with 201 (Okta's Group Push sends
// "members": [], Entra an extra schema URI and no members).
func (h *Handler) SCIMCreateGroup(c echo.Context) error {
	tok, cfg := scimToken(c), h.scimConfig(c)
	in, members, err := readGroup(c)
	if err != nil {
		return err
	}
	g, err := h.Store.CreateSCIMGroup(c.Request().Context(), tok, in, members)
	if err != nil {
		return err
	}
	if len(members) > 0 {
		h.kick(tok.AccountID)
	}
	if g, err = h.Store.SCIMGroup(c.Request().Context(), tok.AccountID, g.ID, true); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, cfg.BaseURL+"/Groups/"+g.ID)
	return writeSCIM(c, http.StatusCreated, groupResource(cfg, g))
}

// SCIMReplaceGroup answers PUT /Groups/{id}: name and members replaced.
func (h *Handler) SCIMReplaceGroup(c echo.Context) error {
	tok, cfg := scimToken(c), h.scimConfig(c)
	in, members, err := readGroup(c)
	if err != nil {
		return err
	}
	g, err := h.Store.UpdateSCIMGroup(c.Request().Context(), tok, c.Param("id"), false,
		func(store.SCIMGroup) (store.SCIMGroupInput, []store.MemberOp, error) {
			return in, []store.MemberOp{{Op: "replace", IDs: members}}, nil
		})
	if err != nil {
		return err
	}
	h.kick(tok.AccountID)
	if g, err = h.Store.SCIMGroup(c.Request().Context(), tok.AccountID, g.ID, true); err != nil {
		return err
	}
	return writeSCIM(c, http.StatusOK, groupResource(cfg, g))
}

// SCIMPatchGroup answers PATCH /Groups/{id} with 204 (Entra advises
// against returning members; Okta accepts it). Member operations of the
// shapes identity providers send (add or replace "members" with a list,
// remove "members[value eq …]" or "members" with a list or without a
// value) change rows without reading the group's members; any other
// operation on members is applied to the whole document. Atomic: a failing
// operation changes nothing.
func (h *Handler) SCIMPatchGroup(c echo.Context) error {
	tok := scimToken(c)
	body, err := readBody(c)
	if err != nil {
		return err
	}
	patch, err := scim.ParsePatch(body)
	if err != nil {
		return err
	}
	var attrOps scim.Patch
	var memberOps []store.MemberOp
	whole := false
	for _, op := range patch.Operations {
		mop, isMembers, ok := memberOp(op)
		switch {
		case !isMembers:
			attrOps.Operations = append(attrOps.Operations, op)
		case !ok:
			whole = true
		default:
			memberOps = append(memberOps, mop)
		}
	}
	for _, op := range memberOps {
		if op.Op == "" {
			return scim.BadRequest(scim.InvalidValue, "members are listed as [{\"value\": \"<user id>\"}]")
		}
	}
	attrs := scim.GroupAttributes()
	_, err = h.Store.UpdateSCIMGroup(c.Request().Context(), tok, c.Param("id"), whole,
		func(cur store.SCIMGroup) (store.SCIMGroupInput, []store.MemberOp, error) {
			doc := decodeStored(cur.Attributes)
			doc["id"], doc["displayName"] = cur.ID, cur.DisplayName
			ops, apply := attrOps, attrOps.Operations
			if whole {
				members := make([]any, 0, len(cur.Members))
				for _, m := range cur.Members {
					members = append(members, map[string]any{"value": m.Value, "display": m.Display})
				}
				doc["members"] = members
				ops, apply = patch, patch.Operations
			}
			if len(apply) > 0 {
				patched, perr := attrs.ApplyPatch(doc, ops)
				if perr != nil {
					return store.SCIMGroupInput{}, nil, perr
				}
				doc = patched
			}
			in, members, err := groupInput(doc)
			if err != nil {
				return store.SCIMGroupInput{}, nil, err
			}
			if whole {
				return in, []store.MemberOp{{Op: "replace", IDs: members}}, nil
			}
			return in, memberOps, nil
		})
	if err != nil {
		return err
	}
	h.kick(tok.AccountID)
	return c.NoContent(http.StatusNoContent)
}

// memberOp recognises an operation on members that needs no read of them.
// isMembers is false for other attributes; ok is false for an operation on
// members of another shape (it is applied to the whole document). A
// member list that is not [{"value": "…"}] gives an empty Op.
func memberOp(op scim.Operation) (mop store.MemberOp, isMembers, ok bool) {
	if op.Path == nil {
		m, _ := op.Value.(map[string]any)
		for k := range m {
			if strings.EqualFold(k, "members") {
				return mop, true, false
			}
		}
		return mop, false, false
	}
	p := *op.Path
	if !strings.EqualFold(p.Attr, "members") || (p.URN != "" && !strings.EqualFold(p.URN, scim.GroupSchema)) {
		return mop, false, false
	}
	if p.Sub != "" {
		return mop, true, false
	}
	if p.Filter != nil {
		c, isCompare := p.Filter.(scim.Compare)
		id, isString := c.Value.(string)
		if op.Op != "remove" || !isCompare || c.Op != scim.Eq || !c.Path.Is("value") || !isString {
			return mop, true, false
		}
		return store.MemberOp{Op: "remove", IDs: []string{id}}, true, true
	}
	if op.Op == "remove" && op.Value == nil {
		return store.MemberOp{Op: "replace"}, true, true
	}
	ids, valid := memberValues(op.Value)
	if !valid {
		return store.MemberOp{}, true, true
	}
	return store.MemberOp{Op: op.Op, IDs: ids}, true, true
}

// memberValues reads [{"value": "id"}, …] (or one such object).
func memberValues(v any) ([]string, bool) {
	list, isList := v.([]any)
	if !isList {
		if v == nil {
			return nil, true
		}
		list = []any{v}
	}
	ids := make([]string, 0, len(list))
	for _, x := range list {
		m, _ := x.(map[string]any)
		var id string
		for k, val := range m {
			if strings.EqualFold(k, "value") {
				id, _ = val.(string)
			}
		}
		if id == "" {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// SCIMDeleteGroup answers DELETE /Groups/{id} with 204.
func (h *Handler) SCIMDeleteGroup(c echo.Context) error {
	tok := scimToken(c)
	if err := h.Store.DeleteSCIMGroup(c.Request().Context(), tok, c.Param("id")); err != nil {
		return err
	}
	h.kick(tok.AccountID)
	return c.NoContent(http.StatusNoContent)
}

// readGroup reads a Group document from the request body as create and PUT
// take it: read-only attributes dropped, then the fields the store keeps.
func readGroup(c echo.Context) (store.SCIMGroupInput, []string, error) {
	doc, err := readDoc(c)
	if err != nil {
		return store.SCIMGroupInput{}, nil, err
	}
	prepared, err := scim.GroupAttributes().Prepare(doc)
	if err != nil {
		return store.SCIMGroupInput{}, nil, err
	}
	return groupInput(prepared)
}
