package views

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The product writes the noun "licence" (British, as the README does) in
// every text a person reads: pages, and the strings handlers and the store
// write into messages and mail. "license" stays only where it is an
// identifier: the API key scope and addresses such as /api/v1/license.
func TestPagesSpellLicenceOneWay(t *testing.T) {
	american := regexp.MustCompile(`(?i)\blicenses?\b`)
	literal := regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`")
	identifier := regexp.MustCompile(`/license|"license"|license —|ScopeLicense`)
	var files []string
	for _, pattern := range []string{"*.templ", "../handlers/*.go", "../store/*.go"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_templ.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			text := line
			if strings.HasSuffix(f, ".go") {
				text = strings.Join(literal.FindAllString(line, -1), " ")
			}
			if american.MatchString(identifier.ReplaceAllString(text, "")) {
				t.Errorf("%s:%d writes %q: the product spells it licence", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
