// Package billing connects Entitle to Stripe: a provider interface with a
// Stripe implementation and a local simulator, webhook verification, and the
// inbox worker that applies Stripe events to subscriptions. It is filled in by
// the billing work; the portal never writes subscription state itself.
package billing
