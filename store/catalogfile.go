package store

import (
	"bytes"
	_ "embed"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/entitle-dev/entitle/licensing"
)

// demoCatalog is Acme Analytics' catalog, applied by `entitle demo seed`.
//
//go:embed demo_catalog.yaml
var demoCatalog []byte

// DemoCatalog returns the demo catalog file's bytes.
func DemoCatalog() []byte { return bytes.Clone(demoCatalog) }

// ParseCatalog reads a catalog file (YAML, or JSON, which YAML accepts).
// Unknown fields are refused so that a typo does not silently drop a value.
func ParseCatalog(data []byte) (licensing.Catalog, error) {
	var c licensing.Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return licensing.Catalog{}, fmt.Errorf("catalog file: %w", err)
	}
	return c, nil
}

// MarshalCatalog writes a catalog file in YAML, the format ParseCatalog
// reads.
func MarshalCatalog(c licensing.Catalog) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Written by `entitle catalog export`: apply it unchanged and nothing changes.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}
