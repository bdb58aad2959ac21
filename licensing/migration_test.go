package licensing

import (
	"strings"
	"testing"
	"time"
)

func TestMigrationEffectiveAt(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	jan31 := time.Date(2025, time.January, 31, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		timing    MigrationTiming
		periodEnd time.Time
		now       time.Time
		want      time.Time
		err       string
	}{
		{"period end far enough", MigrationTiming{Notice: 14 * day}, jan31, jan31.Add(-20 * day), jan31, ""},
		{"period end too close: the next one", MigrationTiming{Notice: 14 * day}, jan31, jan31.Add(-5 * day),
			time.Date(2025, time.February, 28, 0, 0, 0, 0, time.UTC), ""},
		{"two periods out keeps the day of month", MigrationTiming{Notice: 40 * day}, jan31, jan31.Add(-5 * day),
			time.Date(2025, time.March, 31, 0, 0, 0, 0, time.UTC), ""},
		{"no notice: the coming period end", MigrationTiming{}, jan31, jan31.Add(-time.Hour), jan31, ""},
		{"fixed date with room", MigrationTiming{At: jan31, Notice: 7 * day}, time.Time{}, jan31.Add(-8 * day), jan31, ""},
		{"fixed date too close", MigrationTiming{At: jan31, Notice: 7 * day}, time.Time{}, jan31.Add(-6 * day), time.Time{},
			"2025-01-31 leaves less than 7 days of notice"},
		{"period end unknown", MigrationTiming{Notice: day}, time.Time{}, jan31, time.Time{}, "no period end"},
	}
	for _, tc := range cases {
		got, err := tc.timing.EffectiveAt(tc.periodEnd, tc.now)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && (err != nil || !got.Equal(tc.want)):
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
	if n := (MigrationTiming{Notice: 14 * day}).NoticeAt(jan31); !n.Equal(jan31.Add(-14 * day)) {
		t.Errorf("NoticeAt = %v", n)
	}
}
