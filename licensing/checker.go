package licensing

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownFeature: no product of the account has a feature with that key.
var ErrUnknownFeature = errors.New("unknown feature")

// SeatHolder is a person holding a seat of a product's subscription.
type SeatHolder struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
}

// userKeys are the ways a check may name a seat holder: the user id in
// decimal, or the email in any letter case.
func (h SeatHolder) userKeys() [2]string {
	return [2]string{strconv.FormatInt(h.UserID, 10), normalizeUser(h.Email)}
}

func normalizeUser(user string) string { return strings.ToLower(strings.TrimSpace(user)) }

// Seat tells whether user (an email or a user id) holds a seat of the
// product; an empty user is an account-level check that ignores seats.
func (p ProductState) Seat(user string) SeatCheck {
	u := normalizeUser(user)
	if u == "" {
		return SeatNotChecked
	}
	for _, h := range p.SeatHolders {
		if k := h.userKeys(); k[0] == u || k[1] == u {
			return SeatHeld
		}
	}
	return SeatNotHeld
}

// CheckResult is one answer to "may this account (and user) use this
// feature": the Decision with the product, plan and status it was made
// under.
type CheckResult struct {
	Product  string
	Feature  Feature
	Plan     *PlanRef // nil: no subscription
	Status   Status   // effective status at the check; "" without a subscription
	Decision Decision
}

// Checker answers checks against one AccountState. It indexes features and
// seat holders once, so a check costs a few map lookups and one call of
// Evaluate; the API keeps one per account in memory and the offline
// licence builds one from the state it carries. A Checker is read-only
// and safe for concurrent use. The Limit and Remaining of the decisions it
// answers may point at figures shared between answers, so that a check
// allocates nothing: read them, never write through them.
type Checker struct {
	state    AccountState
	features map[string]int       // feature key → index of the first product that has it
	holders  []map[string]bool    // per product: seat holders by user id and lowercase email
	index    []map[string]Feature // per product: features by key
	figures  figurePointers       // the plan's limits and what is left of them, as answered without grants
}

// NewChecker indexes state. The Checker keeps state as given: callers must
// not change it afterwards.
func NewChecker(state AccountState) *Checker {
	c := &Checker{state: state, features: map[string]int{},
		holders: make([]map[string]bool, len(state.Products)), index: make([]map[string]Feature, len(state.Products)),
		figures: figurePointers{0: ptr(0)}}
	for i, p := range state.Products {
		c.index[i] = make(map[string]Feature, len(p.Features))
		for _, f := range p.Features {
			c.index[i][f.Key] = f
			if v, ok := p.Values[f.Key]; ok && f.Kind.Counted() && v.Limit != nil {
				limit := max(*v.Limit, 0)
				c.figures.add(limit)
				c.figures.add(max(limit-max(p.Usage[f.Key], 0), 0))
			}
			if _, dup := c.features[f.Key]; !dup {
				c.features[f.Key] = i // FindFeature's rule: the first product wins
			}
		}
		c.holders[i] = make(map[string]bool, 2*len(p.SeatHolders))
		for _, h := range p.SeatHolders {
			for _, k := range h.userKeys() {
				c.holders[i][k] = true
			}
		}
	}
	return c
}

// WithUsage is a Checker for the same state with quantity more of
// product's feature used (a usage report counted since the state was
// read); nil when the state has no such product and feature. c is not
// changed: only the product's usage is copied, the indexes are shared.
func (c *Checker) WithUsage(product, feature string, quantity int64) *Checker {
	for i := range c.state.Products {
		if c.state.Products[i].Product != product {
			continue
		}
		if _, ok := c.index[i][feature]; !ok {
			return nil
		}
		next := *c
		next.state.Products = append([]ProductState(nil), c.state.Products...)
		p := &next.state.Products[i]
		usage := make(map[string]int64, len(p.Usage)+1)
		for k, v := range p.Usage {
			usage[k] = v
		}
		usage[feature] += quantity
		p.Usage = usage
		return &next
	}
	return nil
}

// State is the account state the Checker answers from.
func (c *Checker) State() AccountState { return c.state }

// Check decides featureKey at now for the account, or for user (an email or
// a user id) when user is not empty. It returns ErrUnknownFeature when no
// product has the feature.
func (c *Checker) Check(featureKey, user string, now time.Time) (CheckResult, error) {
	i, ok := c.features[featureKey]
	if !ok {
		return CheckResult{}, ErrUnknownFeature
	}
	return c.check(i, c.index[i][featureKey], user, now), nil
}

// CheckAll decides every feature of every product, in catalog order.
func (c *Checker) CheckAll(user string, now time.Time) []CheckResult {
	var out []CheckResult
	for i, p := range c.state.Products {
		for _, f := range p.Features {
			if c.features[f.Key] == i {
				out = append(out, c.check(i, f, user, now))
			}
		}
	}
	return out
}

func (c *Checker) check(i int, f Feature, user string, now time.Time) CheckResult {
	p := &c.state.Products[i]
	seat := SeatNotChecked
	if u := normalizeUser(user); u != "" {
		seat = SeatNotHeld
		if c.holders[i][u] {
			seat = SeatHeld
		}
	}
	r := CheckResult{Product: p.Product, Feature: f, Plan: p.Plan, Decision: evaluate(p.input(f, seat, now), c.figures)}
	if p.Subscription != nil {
		r.Status = p.Subscription.EffectiveStatus(now)
	}
	return r
}
