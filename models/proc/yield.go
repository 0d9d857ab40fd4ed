package proc

import (
	"runtime"
	"time"
)

// An event loop inside Go's scheduler, and why it yields.
//
// An event loop (the epoll, workers, reuseport and uring models, gnet's
// loops in the gnet model, and the load generator) runs on one goroutine
// locked to its OS thread, and goes
// round forever: wait in epoll_wait(2) or io_uring_enter(2), then read and
// write sockets. It never parks, never blocks on a channel: to Go's
// scheduler it is one goroutine that has been running since it started.
//
// sysmon, the runtime's watchdog thread, preempts a goroutine that has
// run for 10 ms without passing through the scheduler (forcePreemptNS in
// runtime/proc.go), so that no goroutine can starve the others. It finds
// the loop, as often as not, inside a system call, where a preemption
// cannot reach it; so it takes the loop's P instead and hands it to
// another thread, and the loop takes a P back when the call returns.
// Nothing was gained, nobody else wanted to run, but sysmon counts it as
// work done, and after work done it checks again in 20 µs, not 10 ms. So
// from 10 ms after the start, for as long as the loop lives, sysmon wakes
// thousands of times a second, each time on a CPU the loop needs, and a
// stolen P can cost a futex(2) wake of another thread.
//
// Measured, epoll model, server on one CPU (taskset -c 1, GOMAXPROCS 1),
// the reference C client with 10 connections, strace -c -f over 3 s: the
// loop made 25,818 reads, and the process 15,118 nanosleep(2) (sysmon's
// 20 µs naps) and 1,082 futex(2); a C loop makes neither.
//
// The cure is to pass through the scheduler before sysmon's 10 ms are up:
// runtime.Gosched every few milliseconds. The scheduler sees a new time
// slice, sysmon finds nothing to do, and it backs off to its 10 ms naps.
// One Gosched costs a few microseconds on a locked thread (the P goes to
// another thread and comes back, two futex wakes), some 200 times a
// second. Measured the same way: 349 nanosleep and a loop that keeps its
// CPU. It is the price of an event loop inside a runtime that has its own
// scheduler, and the lesson of it: a C loop owns its thread; a Go loop
// borrows one from the runtime, and must look like a good citizen to keep
// it.

// yieldEvery is how often a loop passes through the scheduler: half of
// sysmon's 10 ms, so that every one of its rounds, 10 ms apart at most,
// sees a new time slice.
const yieldEvery = 5 * time.Millisecond

// A Yielder belongs to one event loop, which calls Yield once a round,
// after its wait. It is not safe for concurrent use: a loop has one.
type Yielder struct {
	last time.Time
}

// Yield gives the loop's goroutine back to the scheduler, runtime.Gosched,
// when yieldEvery has passed since it last did.
func (y *Yielder) Yield() {
	now := time.Now()
	if now.Sub(y.last) < yieldEvery {
		return
	}
	y.last = now
	gosched()
}

// gosched is runtime.Gosched; the tests count its calls.
var gosched = runtime.Gosched
