// Package migrations holds Entitle's forward-only SQL migrations, embedded in
// the binary so that `entitle migrate` and `entitle serve` need no files on
// disk. Files are numbered; each issue's work takes its own range of numbers so
// that parallel work never collides.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
