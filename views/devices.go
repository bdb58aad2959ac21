package views

// personLabel shows who or where a device belongs to, or a dash when the
// application did not say.
func personLabel(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
