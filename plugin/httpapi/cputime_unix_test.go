//go:build unix

package httpapi

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used (user and system), so
// that a benchmark can report its cost apart from the waiting that a
// shared machine adds to wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
