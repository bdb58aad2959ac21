// Package ofprovider is an OpenFeature provider on top of the Entitle Go
// SDK (sdk/entitle), so applications that already evaluate feature flags
// evaluate entitlements the same way: a boolean flag is "may use the
// feature", a numeric flag is what is left of its limit. The targeting key
// is the user; the context attribute "account" names the account. It is a
// package of its own so that the SDK itself stays free of dependencies.
package ofprovider

import (
	"context"
	"errors"
	"math"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/sdk/entitle"
)

// AccountAttribute is the evaluation context attribute naming the account.
const AccountAttribute = "account"

// Provider answers flags from one SDK client per account.
type Provider struct {
	clients map[string]*entitle.Client
}

// New returns a provider for the accounts' clients, by account slug.
func New(clients map[string]*entitle.Client) *Provider { return &Provider{clients: clients} }

// Metadata names the provider.
func (p *Provider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: "entitle"} }

// Hooks: none.
func (p *Provider) Hooks() []openfeature.Hook { return nil }

// check evaluates flag for the context's account and user. A missing or
// unknown account, or no verified state, is an error result: the
// application gets its default, never a "yes" it was not given.
func (p *Provider) check(ctx context.Context, flag string, flat openfeature.FlattenedContext) (licensing.CheckResult, openfeature.ProviderResolutionDetail) {
	account, _ := flat[AccountAttribute].(string)
	if account == "" {
		return licensing.CheckResult{}, errorDetail(openfeature.NewInvalidContextResolutionError(`the evaluation context needs the "account" attribute`))
	}
	c, ok := p.clients[account]
	if !ok {
		return licensing.CheckResult{}, errorDetail(openfeature.NewInvalidContextResolutionError("no client for account " + account))
	}
	user, _ := flat[openfeature.TargetingKey].(string)
	r, err := c.Check(ctx, flag, user)
	switch {
	case errors.Is(err, licensing.ErrUnknownFeature):
		return r, errorDetail(openfeature.NewFlagNotFoundResolutionError("no feature " + flag))
	case errors.Is(err, entitle.ErrNoVerifiedState):
		return r, errorDetail(openfeature.NewProviderNotReadyResolutionError(err.Error()))
	case err != nil:
		return r, errorDetail(openfeature.NewGeneralResolutionError(err.Error()))
	}
	reason := openfeature.StaticReason
	if user != "" {
		reason = openfeature.TargetingMatchReason
	}
	meta := openfeature.FlagMetadata{"reason": string(r.Decision.Reason), "has_access": r.Decision.HasAccess}
	if r.Decision.Limit != nil {
		meta["limit"] = *r.Decision.Limit
	}
	return r, openfeature.ProviderResolutionDetail{Reason: reason, Variant: string(r.Decision.Reason), FlagMetadata: meta}
}

func errorDetail(e openfeature.ResolutionError) openfeature.ProviderResolutionDetail {
	return openfeature.ProviderResolutionDetail{ResolutionError: e, Reason: openfeature.ErrorReason}
}

// BooleanEvaluation: may the account (and user) use the feature.
func (p *Provider) BooleanEvaluation(ctx context.Context, flag string, def bool, flat openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	r, d := p.check(ctx, flag, flat)
	if d.ResolutionError != (openfeature.ResolutionError{}) {
		return openfeature.BoolResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	return openfeature.BoolResolutionDetail{Value: r.Decision.HasAccess, ProviderResolutionDetail: d}
}

// IntEvaluation: what is left of the feature's limit (0 without access;
// math.MaxInt64 when unlimited). A boolean feature is a type mismatch.
func (p *Provider) IntEvaluation(ctx context.Context, flag string, def int64, flat openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	r, d := p.check(ctx, flag, flat)
	if d.ResolutionError != (openfeature.ResolutionError{}) {
		return openfeature.IntResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	if !r.Feature.Kind.Counted() {
		return openfeature.IntResolutionDetail{Value: def, ProviderResolutionDetail: errorDetail(
			openfeature.NewTypeMismatchResolutionError(flag + " is a " + string(r.Feature.Kind) + " feature, not a number"))}
	}
	v := int64(0)
	switch {
	case !r.Decision.HasAccess:
	case r.Decision.Remaining == nil:
		v = math.MaxInt64
	default:
		v = *r.Decision.Remaining
	}
	return openfeature.IntResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// FloatEvaluation is IntEvaluation as a float (+Inf when unlimited).
func (p *Provider) FloatEvaluation(ctx context.Context, flag string, def float64, flat openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	i := p.IntEvaluation(ctx, flag, 0, flat)
	if i.ResolutionError != (openfeature.ResolutionError{}) {
		return openfeature.FloatResolutionDetail{Value: def, ProviderResolutionDetail: i.ProviderResolutionDetail}
	}
	v := float64(i.Value)
	if i.Value == math.MaxInt64 {
		v = math.Inf(1)
	}
	return openfeature.FloatResolutionDetail{Value: v, ProviderResolutionDetail: i.ProviderResolutionDetail}
}

// StringEvaluation: the decision's reason (ok, no_seat, ...).
func (p *Provider) StringEvaluation(ctx context.Context, flag string, def string, flat openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	r, d := p.check(ctx, flag, flat)
	if d.ResolutionError != (openfeature.ResolutionError{}) {
		return openfeature.StringResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	return openfeature.StringResolutionDetail{Value: string(r.Decision.Reason), ProviderResolutionDetail: d}
}

// ObjectEvaluation: the whole decision.
func (p *Provider) ObjectEvaluation(ctx context.Context, flag string, def any, flat openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	r, d := p.check(ctx, flag, flat)
	if d.ResolutionError != (openfeature.ResolutionError{}) {
		return openfeature.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	return openfeature.InterfaceResolutionDetail{Value: r.Decision, ProviderResolutionDetail: d}
}
