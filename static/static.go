// Package static holds the portal's CSS and the JavaScript that npm installs
// (htmx, copied into vendor/ by `make static`), embedded in the binary.
package static

import "embed"

// FS is served under /static/.
//
//go:embed app.css app.js favicon.svg all:vendor
var FS embed.FS
