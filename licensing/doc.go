// Package licensing is Entitle's pure domain: the catalog's types, the one
// entitlement evaluation function, the subscription lifecycle rules and, later,
// provisioning rules and the offline licence format.
//
// It imports the standard library only, so that a vendor's application can
// import it to verify an offline licence and answer a check with exactly the
// same rules the server uses. Nothing here touches a database or the network.
package licensing
