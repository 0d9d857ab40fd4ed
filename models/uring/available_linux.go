//go:build linux

package uring

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"iolab/models/uring/ring"
)

// Available reports whether this process may use io_uring, by doing it:
// it sets up a ring of one entry with io_uring_setup(2) and closes it. The
// error says why not, and what would allow it.
func Available() error {
	r, err := ring.Setup(1, 2)
	if err == nil {
		r.Close()
		return nil
	}
	return diagnose(err, readSysctl)
}

// readSysctl reads a sysctl from /proc/sys, key with slashes for dots.
func readSysctl(key string) (string, error) {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	return strings.TrimSpace(string(b)), err
}

// diagnose turns a failed io_uring_setup(2) into ErrUnavailable with its
// cause and fix, reading the sysctls it needs through sysctl (a fake, in
// the tests).
//
//   - ENOSYS: the kernel has no io_uring (before Linux 5.1, or built
//     without CONFIG_IO_URING).
//   - EPERM: either kernel.io_uring_disabled (Linux 6.6) forbids it, 2 for
//     everyone, 1 for all but root and the group kernel.io_uring_group; or,
//     with the sysctl at 0 or absent, a seccomp filter refused the call, as
//     Docker's default profile (and Google's, in ChromeOS and Android
//     apps, and gVisor) does.
//   - ENOMEM: before Linux 5.12 the rings count against RLIMIT_MEMLOCK,
//     often 64 KiB.
func diagnose(err error, sysctl func(string) (string, error)) error {
	why := func(cause, fix string) error {
		return fmt.Errorf("%w: %v: %s; fix: %s", ErrUnavailable, err, cause, fix)
	}
	switch {
	case errors.Is(err, unix.ENOSYS):
		return why("this kernel has no io_uring (Linux 5.1 or later, built with CONFIG_IO_URING; 6.0 for multishot receive)",
			"run on a newer kernel, or use -model epoll")
	case errors.Is(err, unix.EPERM):
		switch v, _ := sysctl("kernel.io_uring_disabled"); v {
		case "2":
			return why("the sysctl kernel.io_uring_disabled is 2, io_uring is disabled for every process",
				"as root, sysctl -w kernel.io_uring_disabled=0 (or 1 and join kernel.io_uring_group), or use -model epoll")
		case "1":
			g, _ := sysctl("kernel.io_uring_group")
			return why(fmt.Sprintf("the sysctl kernel.io_uring_disabled is 1, io_uring is allowed only to root and to group %s (kernel.io_uring_group)", g),
				"run as a member of that group, or as root sysctl -w kernel.io_uring_disabled=0, or use -model epoll")
		}
		return why("a seccomp filter refused the call, as Docker's default profile does for io_uring_setup, io_uring_enter and io_uring_register",
			"run the container with --security-opt seccomp=PROFILE, a profile that allows those three calls (see notes/reference/uring.md), or use -model epoll")
	case errors.Is(err, unix.ENOMEM):
		return why("the kernel could not lock memory for the rings (before Linux 5.12 they count against RLIMIT_MEMLOCK)",
			"raise the limit (ulimit -l, or docker run --ulimit memlock=-1), or use -model epoll")
	}
	return why("unexpected error", "use -model epoll")
}
