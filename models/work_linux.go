package models

import (
	"time"

	"golang.org/x/sys/unix"
)

// BlockThread blocks the calling OS thread in the kernel for d, in
// nanosleep(2): not a Go timer, which would park only the goroutine and
// free the thread. The Go runtime sees a thread in a system call and,
// after some 20 µs, hands its P to another thread, so the other
// goroutines of the process run on; a thread that an event loop locked
// stays stuck, and so does its loop.
func BlockThread(d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	for {
		var left unix.Timespec
		if err := unix.Nanosleep(&ts, &left); err != unix.EINTR {
			return
		}
		ts = left // a signal woke it: sleep what is left
	}
}
