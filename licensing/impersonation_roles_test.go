package licensing

import "testing"

func TestReadOnlySupportMayOnlyLook(t *testing.T) {
	for _, c := range []struct {
		role     Role
		action   Action
		readOnly bool
		want     bool
	}{
		{Owner, ViewMembers, true, true},
		{Owner, InviteMembers, true, false},
		{Owner, InviteMembers, false, true},
		{Owner, AssignSeats, true, false},
		{Owner, ViewAudit, true, true},
		{Member, InviteMembers, false, false}, // the role refuses, whatever the mode
		{Member, ViewMembers, true, false},
	} {
		if got := CanImpersonated(c.role, c.action, c.readOnly); got != c.want {
			t.Errorf("%s %s read-only=%v: %v, want %v", c.role, c.action, c.readOnly, got, c.want)
		}
	}
}
