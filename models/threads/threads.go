// Package threads is the tutorial's threading.Thread server: one OS thread
// per connection, each blocking in the kernel on its own socket.
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
// Read it in this order: threads.go (Serve: the acceptor thread, and one
// new locked OS thread per connection), then
// models/internal/blocking/blocking_linux.go (Listener.Accept and
// Listener.Serve, shared with the sequential model), then
// models/converse.go (Converse: the conversation). Each connection's thread
// blocks in read(2) in sock.Conn.Read, in models/internal/sock/conn_linux.go,
// while it waits for a request, and in write(2) in sock.Conn.Write, same
// file, while the client is slow to read; the acceptor thread blocks in
// accept4(2) in sock.Accept, in sock_linux.go. At the connection limit the
// acceptor waits for a slot before it calls accept (models.AwaitSlot, in
// models/drain.go), and clients wait in the kernel's accept queue.
package threads

import (
	"context"
	"net"
	"runtime"
	"sync"

	"iolab/models"
	"iolab/models/internal/blocking"
)

// Server is the thread-per-connection model.
type Server struct {
	cfg models.Config
}

var _ models.Server = (*Server)(nil)

func init() {
	models.Register(models.Model{
		Name:   "threads",
		Waits:  "one OS thread per connection, each blocked in read(2)/write(2); an acceptor thread blocked in accept(2)",
		Source: "models/threads",
		New:    func(cfg models.Config) (models.Server, error) { return New(cfg) },
	})
}

// New returns a thread-per-connection server for cfg.
func New(cfg models.Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg}, nil
}

// Serve accepts on one thread and serves each connection on a new one.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	ln, err := blocking.Listen(ctx, &s.cfg, "threads", ready)
	if err != nil {
		return err
	}
	defer ln.Close()

	var serving sync.WaitGroup
	defer serving.Wait()
	runtime.LockOSThread() // the acceptor thread
	defer runtime.UnlockOSThread()
	for {
		c, ok := ln.Accept() // blocks the acceptor thread in accept4(2)
		if !ok {
			return nil
		}
		serving.Go(func() {
			// From here this goroutine is its own OS thread. There is no
			// UnlockOSThread: when the goroutine returns, the runtime
			// ends the thread instead of reusing it.
			runtime.LockOSThread()
			ln.Serve(c) // blocks this thread in read(2)/write(2)
		})
	}
}
