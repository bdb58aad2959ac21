package views

import "strconv"

// personLabel shows who or where a device belongs to, or a dash when the
// application did not say.
func personLabel(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// poolLabel is a floating licence pool's size.
func poolLabel(pool *int64) string {
	if pool == nil {
		return "unlimited pool"
	}
	return "pool of " + strconv.FormatInt(*pool, 10)
}
