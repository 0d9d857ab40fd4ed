// Package epoll is a reactor written by hand on epoll(7), with the system
// calls of golang.org/x/sys/unix and nothing from Go's net package: one
// event loop, on one locked OS thread, waits in epoll_wait(2) for any of
// its sockets to become ready, and serves whichever are, without ever
// blocking on one of them. Sockets are non-blocking, so a read or write
// that cannot proceed fails with EAGAIN instead of sleeping.
//
// Read it in this order: poller_linux.go (the five system calls, wrapped),
// then loop_linux.go (the loop as a state machine: loopEvent, loopRead,
// answer and begin only change a connection's state; settle then writes,
// closes, sets the epoll interest that want derives from the state, and
// starts or stops the write and request deadlines), with
// models/internal/exchange beside it (the request state machine the uring
// loop shares: Answer, Begin, Finish, Clocks), then
// accept_linux.go (loopAccept, and settleListener, which keeps the
// listener in epoll only while accepting says the loop may accept: below
// the connection limit, not paused after an accept error, not shutting
// down), then timers_linux.go (the timers that replace sleeping, and the
// sweep that closes connections past a deadline; the heap and what each
// kind of timer does are in models/internal/deadline). The loop's thread
// blocks in one place only: epoll_wait(2), in poller.wait.
//
// See https://man7.org/linux/man-pages/man7/epoll.7.html.
package epoll

import (
	"iolab/models"
)

// Server is the epoll reactor model. Its Serve is in loop_linux.go; on
// other systems it is LinuxOnly's, which says the model needs Linux.
type Server struct {
	models.LinuxOnly
	cfg models.Config
}

func init() {
	models.Register(models.Model{
		Name:  "epoll",
		Waits: "one event loop on one OS thread waits in epoll_wait(2) for every socket; non-blocking reads and writes",
		Limits: "at -max-conns it stops watching the listener, and clients wait in the kernel's accept queue. " +
			"It stops reading a client whose unsent answers pass -max-output, and closes it if they are not drained " +
			"within -idle-timeout (write_timeout).",
		Source: "models/epoll",
		Linux:  true,
		Build:  func(cfg models.Config) models.Server { return &Server{cfg: cfg} },
	})
}
