// Package billing connects Entitle to Stripe: a Provider interface for the
// calls the portal makes, with a Stripe implementation (stripe-go) and a
// local simulator that sends Stripe-shaped, signed events to the app's own
// webhook; the inbox that verifies and stores those events; and the worker
// that applies them to subscriptions. The portal never writes subscription
// state itself: it asks the provider, then waits for the webhook.
package billing
