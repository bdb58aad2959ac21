package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// ProvisioningPage shows /settings/provisioning: SCIM tokens, the rules
// with the unmatched policy, and the identity provider's groups.
func (h *Handler) ProvisioningPage(c echo.Context) error {
	return h.renderProvisioning(c, func(*views.ProvisioningView) {})
}

func (h *Handler) renderProvisioning(c echo.Context, fill func(*views.ProvisioningView)) error {
	cur, _ := Current(c)
	st, err := h.Store.ProvisioningSettings(c.Request().Context(), cur.AccountID)
	if err != nil {
		return err
	}
	v := views.ProvisioningView{SCIMURL: h.baseURL(c) + "/scim/v2", Unmatched: string(st.Unmatched),
		Provisioned: st.Provisioned, Waiting: st.Waiting, Drifts: st.Drifts, Form: views.RuleFormView{Priority: 10}}
	if st.ReconciledAt.Valid {
		v.ReconciledAt = lastActive(st.ReconciledAt.Time)
	}
	for _, t := range st.Tokens {
		tv := views.SCIMTokenView{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedBy: t.CreatedBy,
			CreatedAt: t.CreatedAt.UTC().Format("2 Jan 2006"), Revoked: t.RevokedAt.Valid}
		if t.LastUsedAt.Valid {
			tv.LastUsed = lastActive(t.LastUsedAt.Time)
		}
		v.Tokens = append(v.Tokens, tv)
	}
	for _, g := range st.Groups {
		v.Groups = append(v.Groups, views.IdPGroupView{ID: g.ID, Name: g.DisplayName, Members: g.Members, Deleted: g.Deleted})
	}
	for _, r := range st.Rules {
		v.Rules = append(v.Rules, views.RuleView{ID: r.ID, Group: r.GroupName, GroupDeleted: r.GroupDeleted, Role: r.Role,
			Product: r.ProductName, Priority: r.Priority, Seats: r.Seats, Waiting: r.Waiting})
	}
	for _, p := range st.Products {
		v.Products = append(v.Products, views.ProductOptionView{Key: p.Key, Name: p.Name})
	}
	fill(&v)
	return render(c, http.StatusOK, views.ProvisioningPage(h.shell(c, "Provisioning", "provisioning"), v))
}

// CreateSCIMToken makes a token and shows it, this once.
func (h *Handler) CreateSCIMToken(c echo.Context) error {
	cur, _ := Current(c)
	t, err := h.Store.CreateSCIMToken(c.Request().Context(), cur.Principal(), c.FormValue("name"))
	if err != nil {
		return err
	}
	return h.renderProvisioning(c, func(v *views.ProvisioningView) {
		v.NewToken = &views.NewTokenView{Name: t.Name, Token: t.Token}
	})
}

// RevokeSCIMToken revokes a token: its next request answers 401.
func (h *Handler) RevokeSCIMToken(c echo.Context) error {
	cur, _ := Current(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := h.Store.RevokeSCIMToken(c.Request().Context(), cur.Principal(), id); err != nil {
		return err
	}
	return h.done(c, "/settings/provisioning", "Token revoked: the identity provider using it is refused from now on.")
}

// ruleChangeForm reads a rule change (op add, delete or unmatched) and the
// fields that post it again.
func ruleChangeForm(c echo.Context) (store.RuleChange, []views.FieldView, views.RuleFormView, error) {
	var ch store.RuleChange
	var form views.RuleFormView
	op := c.FormValue("op")
	fields := []views.FieldView{{Name: "op", Value: op}}
	switch op {
	case "add":
		group, err := parseID(c.FormValue("group"))
		if err != nil {
			return ch, nil, form, store.Invalid("group", "choose a group")
		}
		priority, err := strconv.Atoi(strings.TrimSpace(c.FormValue("priority")))
		if err != nil {
			return ch, nil, form, store.Invalid("priority", "priority is a whole number, 1 first")
		}
		form = views.RuleFormView{GroupID: group, Role: c.FormValue("role"), Product: c.FormValue("product"), Priority: priority}
		ch.Add = &store.RuleInput{GroupID: group, Role: form.Role, ProductKey: form.Product, Priority: priority}
		fields = append(fields, views.FieldView{Name: "group", Value: strconv.FormatInt(group, 10)},
			views.FieldView{Name: "role", Value: form.Role}, views.FieldView{Name: "product", Value: form.Product},
			views.FieldView{Name: "priority", Value: strconv.Itoa(priority)})
	case "delete":
		id, err := parseID(c.FormValue("rule"))
		if err != nil {
			return ch, nil, form, err
		}
		ch.DeleteID = id
		fields = append(fields, views.FieldView{Name: "rule", Value: strconv.FormatInt(id, 10)})
	case "unmatched":
		ch.Unmatched = licensing.UnmatchedPolicy(c.FormValue("unmatched"))
		if !ch.Unmatched.Valid() {
			return ch, nil, form, store.Invalid("unmatched", "choose member or deny")
		}
		fields = append(fields, views.FieldView{Name: "unmatched", Value: string(ch.Unmatched)})
	default:
		return ch, nil, form, store.Invalid("op", "add a rule, remove one, or set the policy")
	}
	return ch, fields, form, nil
}

// PreviewRuleChange shows what a rule change would do (who gains a seat,
// who loses one, who waits, whose standing changes), with the button that
// saves it: the change runs in a transaction that is rolled back.
func (h *Handler) PreviewRuleChange(c echo.Context) error {
	cur, _ := Current(c)
	ch, fields, form, err := ruleChangeForm(c)
	if err != nil {
		return err
	}
	eff, err := h.Store.ChangeProvisioningRules(c.Request().Context(), cur.Principal(), ch, true)
	if err != nil {
		return err
	}
	return h.renderProvisioning(c, func(v *views.ProvisioningView) {
		v.Form = form
		v.Preview = &views.RulePreviewView{Title: ruleChangeTitle(ch, v), Fields: fields,
			Gains: effects(eff.Gains()), Losses: effects(eff.Losses()), Waits: effects(eff.Waits()), Standing: effects(eff.Standing())}
	})
}

// SaveRuleChange saves a previewed rule change.
func (h *Handler) SaveRuleChange(c echo.Context) error {
	cur, _ := Current(c)
	ch, _, _, err := ruleChangeForm(c)
	if err != nil {
		return err
	}
	eff, err := h.Store.ChangeProvisioningRules(c.Request().Context(), cur.Principal(), ch, false)
	if err != nil {
		return err
	}
	return h.done(c, "/settings/provisioning", fmt.Sprintf("Saved: %d %s given, %d taken, %d waiting, %d standing %s.",
		len(eff.Gains()), plural(len(eff.Gains()), "seat", "seats"), len(eff.Losses()), len(eff.Waits()),
		len(eff.Standing()), plural(len(eff.Standing()), "change", "changes")))
}

func ruleChangeTitle(ch store.RuleChange, v *views.ProvisioningView) string {
	switch {
	case ch.Add != nil:
		group := ""
		for _, g := range v.Groups {
			if g.ID == ch.Add.GroupID {
				group = g.Name
			}
		}
		var gives []string
		if ch.Add.Role != "" {
			gives = append(gives, "the role "+ch.Add.Role)
		}
		if ch.Add.ProductKey != "" {
			gives = append(gives, "a seat of "+ch.Add.ProductKey)
		}
		return fmt.Sprintf("Add the rule: members of %s get %s (priority %d)", group, strings.Join(gives, " and "), ch.Add.Priority)
	case ch.DeleteID != 0:
		for _, r := range v.Rules {
			if r.ID == ch.DeleteID {
				return "Remove the rule for " + r.Group
			}
		}
		return "Remove the rule"
	}
	if ch.Unmatched == licensing.UnmatchedDeny {
		return "Do not admit provisioned people who match no rule"
	}
	return "Admit provisioned people who match no rule as members"
}

func effects(changes []store.ReconcileChange) []views.EffectView {
	out := make([]views.EffectView, 0, len(changes))
	for _, c := range changes {
		e := views.EffectView{Email: c.Email, Product: c.Product, Cause: c.Reason}
		switch c.Kind {
		case licensing.ChangeAdmit:
			e.What = "admitted as " + c.Role
		case licensing.ChangeDismiss:
			e.What = "no longer admitted"
		case licensing.ChangeRole:
			e.What = "role " + c.Role
		}
		out = append(out, e)
	}
	return out
}
