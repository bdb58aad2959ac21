package benchserver

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUTime is the machine's busy CPU time so far, from /proc/stat: every
// process on it, load generator and database included (zero where there
// is no /proc). The difference over a stretch of work, divided by what
// it did, is a figure that a machine's wandering speed moves much less
// than a rate: the CPU the work costs, not how fast it went.
func CPUTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i, f := range fields {
		if i == 0 || i == 4 || i == 5 || i > 8 {
			continue
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ is 100 on Linux
}
