package views

import (
	"bytes"
	"context"
	"strconv"
	"testing"
)

// BenchmarkMemberTable50Rows renders a page of the members table as an
// owner sees it (role and remove forms on every row), the part of the
// members page that costs most to render.
func BenchmarkMemberTable50Rows(b *testing.B) {
	s := Shell{CSRF: "csrf-token-csrf-token-csrf-token-csrf-tok", User: &User{Email: "owner@globex.test", Role: "owner"}}
	v := MembersView{Total: 10009, Next: "next-cursor", CanManage: true, IsOwner: true, CanAssign: true,
		Pools: []PoolOption{{ID: 1, Name: "Acme Analytics (Team)"}}}
	for i := range 50 {
		n := strconv.Itoa(i)
		v.Rows = append(v.Rows, MemberRow{ID: int64(1000 + i), Name: "Person " + n, Email: "person" + n + "@globex.test",
			Role: "member", Status: "active", Products: []string{"Acme Analytics"}, LastActive: "3 Dec 2026 10:00"})
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := MemberTable(s, v).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
}
