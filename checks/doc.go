// Package checks is the entitlement API's check path: an in-process cache of
// each account's evaluated state (licensing.Checker) and of the API keys in
// use, kept fresh by the change feed (LISTEN on store.ChangesChannel), with
// keys' and seats' last use written in batches off the hot path. It imports
// store and licensing and is imported by cmd, web and handlers.
package checks
