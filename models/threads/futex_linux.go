package threads

import (
	"errors"
	"math/bits"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// sizeFutexHash gives the process a futex hash table with a bucket for
// each of the limit threads it may run.
//
// Why: every thread of this model that waits sleeps in futex(2) (the Go
// runtime parks an idle or locked thread on a futex of its own), and a
// futex_wake looks the sleeper up in a hash table, walking the sleepers
// that share its bucket. Since Linux 6.16 a process with threads gets a
// table of its own (PR_FUTEX_HASH), sized from its threads but capped by
// the number of CPUs: 16 buckets on a 2-CPU machine, whatever the threads.
// With 19,000 connections each bucket held some 1,200 sleepers, and every
// hand-over of the runtime's P from one connection's thread to another
// walked one: perf showed half the server's CPU time in futex_wake while
// it shut down, and SIGTERM took 5 to 6 s to exit. One bucket per thread
// makes a wake-up one step again.
//
// Before Linux 6.16 there is no such table (the call fails with EINVAL):
// the process shares the kernel's global one, sized from the memory and
// the CPUs, and there is nothing to do.
func sizeFutexHash(limit int, log zerolog.Logger) {
	if limit < 1 {
		return
	}
	slots := uintptr(1) << bits.Len(uint(limit-1)) // the power of two at or above limit
	err := unix.Prctl(unix.PR_FUTEX_HASH, unix.PR_FUTEX_HASH_SET_SLOTS, slots, 0, 0)
	if err != nil && !errors.Is(err, unix.EINVAL) {
		log.Warn().Err(err).Uint64("slots", uint64(slots)).Msg("threads: cannot size the futex hash; wake-ups among many threads will be slow")
	}
}
