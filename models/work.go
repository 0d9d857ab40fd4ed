package models

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// WorkKind says what a request costs the server.
type WorkKind int

const (
	// NoWork answers at once.
	NoWork WorkKind = iota
	// Sleep waits, as for a slow backend; it costs time but no CPU.
	Sleep
	// CPU computes on the serving thread for the duration.
	CPU
)

// Work is the cost of one request, as given by -work.
type Work struct {
	Kind WorkKind
	D    time.Duration
}

// String returns the -work spelling: none, sleep:D or cpu:D.
func (w Work) String() string {
	switch w.Kind {
	case Sleep:
		return "sleep:" + w.D.String()
	case CPU:
		return "cpu:" + w.D.String()
	}
	return "none"
}

// ParseWork parses a -work value: none, sleep:DURATION or cpu:DURATION.
func ParseWork(s string) (Work, error) {
	if s == "" || s == "none" {
		return Work{}, nil
	}
	kind, dur, ok := strings.Cut(s, ":")
	if !ok {
		return Work{}, fmt.Errorf("models: work %q: want none, sleep:DURATION or cpu:DURATION", s)
	}
	d, err := time.ParseDuration(dur)
	if err != nil || d <= 0 {
		return Work{}, fmt.Errorf("models: work %q: %q is not a positive duration", s, dur)
	}
	switch kind {
	case "sleep":
		return Work{Kind: Sleep, D: d}, nil
	case "cpu":
		return Work{Kind: CPU, D: d}, nil
	}
	return Work{}, fmt.Errorf("models: work %q: unknown kind %q (want sleep or cpu)", s, kind)
}

// BeginWork begins the work of one request, greeting or echo line alike,
// on the thread that serves it, and returns the sleep still owed: how long
// to wait before the answer goes out, 0 when it may go out at once.
//
// It does the part of the work that is the same in every model: it calls
// cfg.OnWork, then spins through cpu work right here (an event loop's
// other connections wait meanwhile: that is the lesson). What it leaves,
// the sleep, is where the models differ, so the caller does it its own
// way: a blocking model calls time.Sleep, parking its thread or goroutine;
// the epoll loop arms a timer in its heap; the gnet model a Go timer.
//
// OnWork is called only when there is work to begin. A request with no
// work has nothing in flight for a test to wait on. (The blocking models
// used to call it for a greeting with no work too; the event loops and the
// blocking echo path never did, and now no model does.)
func BeginWork(cfg *Config) (sleep time.Duration) {
	w := cfg.Work
	if w.Kind == NoWork {
		return 0
	}
	if cfg.OnWork != nil {
		cfg.OnWork()
	}
	switch w.Kind {
	case Sleep:
		return w.D
	case CPU:
		Spin(w.D)
	}
	return 0
}

// spinSink keeps the compiler from removing Spin's arithmetic. It is atomic
// because many threads spin at once.
var spinSink atomic.Uint64

// Spin keeps the calling thread computing until it has used d of CPU time.
// CPU time, not wall time: a thread that the scheduler takes off the CPU
// in the middle (as with many threads on one core) must still do all its
// work when it runs again, or it would be credited with work it never did.
// The clock is the thread's own (CLOCK_THREAD_CPUTIME_ID), so the
// goroutine stays on its thread while it spins.
func Spin(d time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	if !ok { // no thread clock here: fall back to wall time
		deadline := time.Now().Add(d)
		spinUntil(func() bool { return !time.Now().Before(deadline) })
		return
	}
	spinUntil(func() bool {
		now, _ := threadCPU()
		return now-start >= d
	})
}

// spinUntil computes until done says so, asking it every few thousand
// rounds, so that nearly all the time goes to computing.
func spinUntil(done func() bool) {
	x := spinSink.Load() | 1
	for {
		for range 4096 {
			// xorshift64: cheap, and the compiler cannot fold it away.
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
		if done() {
			break
		}
	}
	spinSink.Store(x)
}

// threadCPU returns the CPU time the calling thread has used.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
