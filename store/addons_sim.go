package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// SimItem is an add-on item of a simulated subscription.
type SimItem struct {
	ID       string `json:"id"`
	PriceID  string `json:"price"`
	Quantity int    `json:"quantity"`
	AddOn    string `json:"addon"` // the add-on's key, as Entitle marks the item on Stripe
}

// SimItems is stored as a JSON array beside the subscription's plan.
type SimItems []SimItem

// Value writes the items as JSON ([] when there are none).
func (it SimItems) Value() (driver.Value, error) {
	if it == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]SimItem(it))
	return string(b), err
}

// Scan reads the JSON array back.
func (it *SimItems) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*it = nil
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("sim items: cannot scan %T", src)
	}
	return json.Unmarshal(b, (*[]SimItem)(it))
}
