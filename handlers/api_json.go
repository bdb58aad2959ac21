package handlers

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// The check answer is the API's hot path: encoding it with encoding/json
// (reflection) cost more than everything else a check does, so it is
// written by hand here. TestCheckJSONMatchesEncodingJSON keeps the two
// identical in meaning, and the OpenAPI tests validate what it writes.

// appendJSON writes c as encoding/json would (same fields, same order).
func (c apiCheck) appendJSON(b []byte) []byte {
	b = append(b, `{"account":`...)
	b = appendJSONString(b, c.Account)
	b = append(b, `,"product":`...)
	b = appendJSONString(b, c.Product)
	b = append(b, `,"feature":`...)
	b = appendJSONString(b, c.Feature)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, string(c.Kind))
	if c.User != "" {
		b = append(b, `,"user":`...)
		b = appendJSONString(b, c.User)
	}
	b = append(b, `,"has_access":`...)
	b = strconv.AppendBool(b, c.HasAccess)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, string(c.Reason))
	b = append(b, `,"limit":`...)
	b = appendIntPtr(b, c.Limit)
	b = append(b, `,"used":`...)
	b = strconv.AppendInt(b, c.Used, 10)
	b = append(b, `,"remaining":`...)
	b = appendIntPtr(b, c.Remaining)
	b = append(b, `,"plan":`...)
	b = appendPlan(b, c.Plan)
	b = append(b, `,"status":`...)
	if c.Status == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, string(*c.Status))
	}
	b = append(b, `,"checked_at":"`...)
	b = c.CheckedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if c.Stale {
		b = append(b, `,"stale":true`...)
	}
	if c.AsOf != nil {
		b = append(b, `,"as_of":"`...)
		b = c.AsOf.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	return append(b, '}')
}

func appendPlan(b []byte, p *licensing.PlanRef) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"key":`...)
	b = appendJSONString(b, p.Key)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, p.Name)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(p.Version), 10)
	b = append(b, `,"rank":`...)
	b = strconv.AppendInt(b, int64(p.Rank), 10)
	b = append(b, `,"seat_based":`...)
	b = strconv.AppendBool(b, p.SeatBased)
	return append(b, '}')
}

func appendIntPtr(b []byte, v *int64) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *v, 10)
}

// appendJSONString quotes s. Plain printable ASCII (every key, slug and
// email) is copied as is; anything else goes through encoding/json, so the
// escaping is always encoding/json's.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
