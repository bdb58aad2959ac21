// Package scim is Entitle's SCIM 2.0 protocol code (RFC 7643, RFC 7644): the
// error document, the filter language, PATCH operations, the User and Group
// documents, paging and the discovery documents.
//
// It imports the standard library only and touches neither the network nor
// the database: the handlers decode a request, call a function here, and hand
// the result to the store. Resources travel as JSON-decoded documents
// (map[string]any), because identity providers send attributes and shapes
// nobody declared (Entra's explicit nulls, its bare-string manager, extra
// schema URIs), and Entra requires values to be kept as sent.
//
// What each identity provider really sends is listed in
// /work/shared/scim-quirks.md; the tests replay those request bodies.
package scim
