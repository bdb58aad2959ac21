package licensing

import "testing"

func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	// The matrix as the issue states it, written out in full so that a
	// change to the table is a deliberate change to this test.
	want := map[Action]map[Role]bool{
		ViewOwnLicences:    {Owner: true, Admin: true, Billing: true, Member: true},
		ViewMembers:        {Owner: true, Admin: true},
		InviteMembers:      {Owner: true, Admin: true},
		ChangeRoles:        {Owner: true, Admin: true},
		RemoveMembers:      {Owner: true, Admin: true},
		SetInviteDomains:   {Owner: true, Admin: true},
		ViewSeats:          {Owner: true, Admin: true, Billing: true},
		AssignSeats:        {Owner: true, Admin: true},
		ViewAudit:          {Owner: true, Admin: true},
		ViewBilling:        {Owner: true, Admin: true, Billing: true},
		ManageBilling:      {Owner: true, Billing: true},
		ManageAPIKeys:      {Owner: true, Admin: true},
		ViewSupport:        {Owner: true, Admin: true},
		ConsentSupport:     {Owner: true},
		ViewInsights:       {Owner: true, Admin: true, Billing: true},
		ReclaimSeats:       {Owner: true, Admin: true},
		ManageProvisioning: {Owner: true, Admin: true},
		ManageSSO:          {Owner: true, Admin: true},
		ReceiveAlerts:      {Owner: true, Admin: true},
		ManageOwnDevices:   {Owner: true, Admin: true, Billing: true, Member: true},
		ManageDevices:      {Owner: true, Admin: true},
	}
	if len(want) != len(Actions) {
		t.Fatalf("test covers %d actions, Actions has %d", len(want), len(Actions))
	}
	for _, a := range Actions {
		for _, r := range Roles {
			if got := Can(r, a); got != want[a][r] {
				t.Errorf("Can(%s, %s) = %v, want %v", r, a, got, want[a][r])
			}
		}
	}
	if Can("intruder", ViewOwnLicences) || Can(Owner, "no.such.action") {
		t.Error("unknown roles or actions are allowed something")
	}
}

func TestOnlyOwnersTouchOwners(t *testing.T) {
	t.Parallel()
	cases := []struct {
		actor, from, to Role
		want            bool
	}{
		{Owner, Member, Owner, true},
		{Owner, Owner, Admin, true},
		{Admin, Member, Admin, true},
		{Admin, Member, Billing, true},
		{Admin, Member, Owner, false},
		{Admin, Owner, Member, false},
		{Billing, Member, Admin, false},
		{Member, Member, Admin, false},
		{Owner, Member, "superuser", false},
	}
	for _, c := range cases {
		if got := CanChangeRole(c.actor, c.from, c.to); got != c.want {
			t.Errorf("CanChangeRole(%s, %s→%s) = %v, want %v", c.actor, c.from, c.to, got, c.want)
		}
	}
	if !CanRemove(Owner, Owner) || CanRemove(Admin, Owner) || !CanRemove(Admin, Member) || CanRemove(Billing, Member) {
		t.Error("CanRemove does not follow 'only owners remove owners'")
	}
	if !CanInviteAs(Owner, Owner) || CanInviteAs(Admin, Owner) || !CanInviteAs(Admin, Admin) || CanInviteAs(Member, Member) {
		t.Error("CanInviteAs does not follow 'only owners make owners'")
	}
}
