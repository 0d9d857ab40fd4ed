// Package uring is the completion model, on io_uring(7): where every other
// reactor asks the kernel which sockets are ready and then makes the
// system calls itself, this one queues the operations themselves (accept,
// receive, send, a timeout) in a submission queue shared with the kernel,
// and later reaps their results from a completion queue. One event loop,
// on one locked OS thread, written on golang.org/x/sys/unix with the raw
// io_uring_setup(2), io_uring_enter(2) and io_uring_register(2) calls and
// the mmap(2)ed queues: no cgo, no library.
//
// Read it in this order: the ring itself, in models/uring/ring (the
// kernel's structs, the two queues, the provided buffers), then
// submit_linux.go (the loop's submissions: prep tags an entry with what it
// is for and counts it in flight; cancel, armWake, recv, send),
// serve_linux.go (Serve, the ring's setup and what the kernel offers,
// negotiate; the shutdown: beginDrain, quiesce, close), then loop_linux.go
// (the loop as a state machine: turn reaps the completions and hands each
// to the handler of its kind, loopRecv or loopSend; settle then derives
// from a connection's state which operations it should have in flight, as
// the epoll loop's want derives its interest, and submits or cancels them;
// a connection's requests and answers are the epoll loop's,
// models/internal/exchange), with stash_linux.go (what multishot receive
// brings while a connection takes no input: take, feed, recycle), then
// accept_linux.go (loopAccept and settleListener: multishot or single
// accept, cancelled at the connection limit), then timers_linux.go (the
// heap of deadlines, shared with epoll, and the one ring timeout that
// bounds each wait), and available_linux.go (why io_uring may be refused,
// and what to do). The loop's thread blocks in one place only:
// io_uring_enter(2) with IORING_ENTER_GETEVENTS, in Ring.Enter.
//
// See https://man7.org/linux/man-pages/man7/io_uring.7.html and
// https://kernel.dk/io_uring.pdf.
package uring

import (
	"errors"

	"iolab/models"
)

// Server is the io_uring model. Its Serve is in serve_linux.go; on other
// systems it is LinuxOnly's, which says the model needs Linux.
type Server struct {
	models.LinuxOnly
	cfg models.Config
}

// ErrUnavailable is what Available and Serve return when this process
// may not use io_uring; the error wrapping it names the cause and the fix.
var ErrUnavailable = errors.New("uring: io_uring is not available")

func init() {
	models.Register(models.Model{
		Name:  "uring",
		Waits: "one event loop on one OS thread queues accept, recv and send in io_uring's submission queue and waits in io_uring_enter(2) for completions",
		Limits: "at -max-conns it cancels its accept, and clients wait in the kernel's accept queue (a multishot accept, armed only far below the limit, " +
			"may take a few past it in a burst: closed as max_conns). As epoll, it takes a client's input only once its answers are written, and " +
			"closes it if they are not drained within -idle-timeout (write_timeout); multishot receive holds up to -max-line of input meanwhile " +
			"(plus what one turn brought, at most the 1 MiB buffer ring), then is cancelled. Unavailable where io_uring is refused " +
			"(kernel.io_uring_disabled, Docker's default seccomp profile): see iolab models.",
		Source:    "models/uring",
		Linux:     true,
		Available: Available,
		// Whether io_uring may be used is found out by Serve (and by
		// Available, ahead of it).
		Build: func(cfg models.Config) models.Server { return &Server{cfg: cfg} },
	})
}
