//go:build !linux

package models

import (
	"time"

	"golang.org/x/sys/unix"
)

// BlockThread blocks the calling OS thread in the kernel for d, as on
// Linux; here in select(2) with no descriptors, which every Unix has.
func BlockThread(d time.Duration) {
	deadline := time.Now().Add(d)
	for left := d; left > 0; left = time.Until(deadline) {
		tv := unix.NsecToTimeval(left.Nanoseconds())
		_, _ = unix.Select(0, nil, nil, nil, &tv) // EINTR: block for what is left
	}
}
