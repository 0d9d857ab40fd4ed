// Package threads is the tutorial's threading.Thread server: one OS thread
// per connection, each blocking in read(2) and write(2) on its own socket.
//
// A goroutine is not an OS thread: Go multiplexes goroutines over a few
// threads and parks them in its netpoller. To get the tutorial's model, each
// connection's goroutine locks itself to its OS thread
// (runtime.LockOSThread) and never unlocks, and it blocks in read(2) and
// write(2) on a blocking socket. The Go runtime then has no choice: while
// that thread sleeps in the kernel, it starts another thread for everything
// else, and when the goroutine returns, its thread exits with it. ps -L, or
// /proc/PID/task, shows one thread per client.
//
// Read it in this order: threads.go (Serve: four acceptor threads, and
// one new locked OS thread per connection), then
// models/internal/blocking/blocking_linux.go (Listener.Accept and
// Listener.Serve, shared with the sequential model), then
// models/converse.go (Converse: the conversation). Each connection's thread
// blocks in read(2) in sock.Conn.Read, in models/internal/sock/conn_linux.go,
// while it waits for a request, and in write(2) in sock.Conn.Write, same
// file, while the client is slow to read; the acceptor threads block in
// accept4(2) in sock.Accept, in sock_linux.go. At the connection limit the
// acceptors wait for a slot before they call accept (models.Slots.Acquire, in
// models/limits.go), and clients wait in the kernel's accept queue.
//
// What this model is not: C's thread per connection. A locked thread still
// needs one of the runtime's GOMAXPROCS Ps to run Go code, so only that
// many of them run at once; the rest, ready, wait in the runtime's global
// run queue, parked in futex(2), not in the kernel's run queue, and each
// hand-over of a P to one of them is a wake-up through the kernel. Two
// things follow, both measured with 10,000 busy echo clients on one core
// (GODEBUG=schedtrace=250):
//
//   - A thread that sleeps in a plain system call keeps its P until the
//     runtime's sysmon thread takes it away. Here that made the whole
//     server run at sysmon's pace, some 1,000 hand-overs a second: only
//     some 3,100 threads ever started, and the load generator counted
//     27,065 timeouts. So the blocking calls tell the runtime first that
//     they will sleep (models/internal/sock/sleep_linux.go); then all
//     10,000 threads start and are served.
//   - The run queue is first in, first out, and an acceptor thread waits in
//     it like everyone else, a round of the queue (some 400 ms here) after
//     each accept that slept. Four acceptors, rather than one, drain the
//     kernel's accept queue before the clients' SYN retries give up
//     (acceptors, below).
//
// What it guarantees at 10,000 busy clients, then: no crash, no wrong
// answer and no reset; every request is answered or, if a round of the
// run queue outlasts the client's patience, times out. Pinned apart from
// its load (server on CPU 1, load on CPU 0) it served all 10,000 echo
// clients with none timed out: 15,950 to 17,921 req/s, p99 0.68 to 0.70
// s. Sharing two cores with its load, as in the reliability suite, it
// served 3,100 to 9,600 req/s, and in some runs a few thousand requests
// timed out after the client's 5 s: the suite's cell says "limit" then,
// and checks the guarantee.
//
// Two costs of the kernel and the runtime grow with the number of
// threads, and this model meets both: the futex hash (sizeFutexHash) and
// the end of a thread (keepAtShutdown).
package threads

import (
	"context"
	"net"
	"runtime"
	"runtime/debug"
	"sync"

	"iolab/models"
	"iolab/models/internal/blocking"
)

// Server is the thread-per-connection model.
type Server struct {
	cfg models.Config
}

func init() {
	models.Register(models.Model{
		Name:  "threads",
		Waits: "one OS thread per connection, each blocked in read(2)/write(2); four acceptor threads blocked in accept(2)",
		Limits: "at -max-conns its acceptors stop accepting, and clients wait in the kernel's accept queue; " +
			"the runtime's own thread limit is raised to match. A client that stops reading is closed one -idle-timeout " +
			"after its answers back up (write_timeout), its thread blocked in write(2) until then.",
		Source: "models/threads",
		Linux:  true,
		Build:  func(cfg models.Config) models.Server { return &Server{cfg: cfg} },
	})
}

// acceptors is how many threads call accept(2) on the listening socket
// at once. The kernel wakes one of them per client (accept's wait queue is
// exclusive: no thundering herd), so for the clients one would do; but in
// Go each of them, woken, waits in the runtime's run queue for a P behind
// every connection that is ready, a full round of the queue. Under a burst
// of 10,000 clients on one core the queue's round took some 400 ms, one
// acceptor drained the kernel's accept queue too seldom, SYNs were dropped
// a second time, and in five runs of iolab load -clients 10000 two ended
// with 464 and 1,044 connect timeouts; with four acceptors, five of five
// had none (the reliability suite's 10,000-client scenario keeps
// checking it).
const acceptors = 4

// Serve accepts on a few threads and serves each connection on a new one.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	raiseThreadLimit(s.cfg.Limit())
	sizeFutexHash(s.cfg.Limit(), s.cfg.Log)
	ln, err := blocking.Listen(ctx, &s.cfg, "threads", ready)
	if err != nil {
		return err
	}
	defer ln.Close()

	var serving, accepting sync.WaitGroup
	for range acceptors {
		accepting.Go(func() { accept(ln, &serving) })
	}
	accepting.Wait()
	serving.Wait()
	return nil
}

// accept is an acceptor thread: it accepts until the server stops, and
// starts a new OS thread for each connection.
func accept(ln *blocking.Listener, serving *sync.WaitGroup) {
	runtime.LockOSThread() // an acceptor thread
	defer runtime.UnlockOSThread()
	for {
		c, ok := ln.Accept() // blocks this thread in accept4(2)
		if !ok {
			return
		}
		serving.Go(func() {
			// From here this goroutine is its own OS thread. While the
			// server runs there is no UnlockOSThread: when the goroutine
			// returns, the runtime ends the thread instead of reusing it,
			// as a C thread per connection ends with its client.
			runtime.LockOSThread()
			ln.Serve(c) // blocks this thread in read(2)/write(2)
			if ln.Stopping() {
				runtime.UnlockOSThread() // see keepAtShutdown
			}
		})
	}
}

// keepAtShutdown: at the shutdown, a connection's thread is not ended
// but handed back to the runtime, idle, to end with the process. Ending a
// thread costs the Go runtime a walk over the list of all its threads
// (mexit in runtime/proc.go unlinks the thread from allm, under the
// scheduler's lock), so ending n threads at once costs n times n: with
// 19,000 connections held (taskset -c 1, GOMAXPROCS 1, -proto echo)
// SIGTERM took 23.7 s to exit, against a -shutdown-timeout of 5 s. Kept,
// the idle threads end in the process's one exit_group(2), in the kernel.
// While the server runs, a thread still ends with its client, one at a
// time, as the model says.

// runtimeThreads is what raiseThreadLimit leaves for threads that serve no
// connection: the runtime's default limit, untouched, as any Go program
// has it.
const runtimeThreads = 10000

// raiseMu makes raiseThreadLimit's read-and-set atomic, for two servers
// that start at once in one process.
var raiseMu sync.Mutex

// raiseThreadLimit lets the process run one OS thread per connection, up
// to limit connections, on top of the runtime's own threads.
//
// Why: the Go runtime crashes the whole program, on purpose, when it
// would start its 10,001st thread ("program exceeds 10000-thread limit",
// debug.SetMaxThreads). The limit is there to stop a program that leaks
// threads before it takes the machine down, and a Go program that leaks
// goroutines never reaches it, since goroutines share a few threads. This
// model is the one program that means to hold a thread per client: at
// 10,000 clients it reached the limit and died, where Linux, and the
// lesson of Kegel's C10K page, would hold them.
//
// Why it is safe: the connection limit bounds the threads this model
// starts, since the acceptor takes a slot before it accepts and a thread
// lives no longer than its connection (give or take the few that are
// exiting as their slot is taken again). The limit is raised by exactly
// that bound, so the process keeps the default 10,000 for everything else
// (the runtime's own: sysmon, one per P, those that take a P over from a
// thread blocked in a system call), and a leak among those crashes it as
// before. The limit is only ever raised: another server in the process may
// still need it.
//
// The kernel has its own limits on threads, each of which would make
// clone(2) fail, which the runtime also treats as fatal. On the machine
// this was measured on (24 GiB, RLIMIT_NOFILE 20,000, so a default
// connection limit of 19,872): kernel.threads-max is 192,730 and
// RLIMIT_NPROC 96,365 (counting every thread of the user; root is exempt
// from it); vm.max_map_count,
// 65,530, allows some 32,000 threads when cgo starts them, as each has a
// stack mapping and its guard page (without cgo the runtime allocates
// thread stacks from its own heap); kernel.pid_max, 32,768 task ids for
// the whole machine, threads of every process included, bounds first.
// The default connection limit fits under all of them; a -max-conns far
// above it would not.
func raiseThreadLimit(limit int) {
	raiseMu.Lock()
	defer raiseMu.Unlock()
	want := limit + runtimeThreads
	if prev := debug.SetMaxThreads(want); prev > want {
		debug.SetMaxThreads(prev)
	}
}
