package store_test

import (
	"io/fs"
	"strconv"
	"strings"

	"github.com/entitle-dev/entitle/migrations"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func migrationsDir() (int, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	return n, err
}
