// Package goroutine is idiomatic Go: one goroutine per connection over
// net.Conn. The code reads like the threads model, blocking Read and Write,
// but a goroutine that blocks does not hold an OS thread: the runtime parks
// it and registers its socket with the netpoller, one epoll instance shared
// by the whole process (runtime/netpoll_epoll.go). A few threads run
// thousands of goroutines, and the one that waits in epoll_wait wakes the
// goroutines whose sockets are ready.
//
// Read it in this order: goroutine.go (Serve: the accept loop; accept;
// serveConn; listen), then models/converse.go (Converse: the same
// conversation as the threads model, over the net.Conn itself). No thread
// of this package blocks: ln.Accept in accept and the connection's Read
// and Write park only the goroutine (net.Conn.Read, then internal/poll's
// FD.Read, then the runtime's pollWait), and the read and write deadlines
// Converse sets are timers in the netpoller, not system calls. The thread
// that blocks is the runtime's, in epoll_wait(2) in netpoll
// (runtime/netpoll_epoll.go; kqueue on macOS), for every goroutine at
// once. Sleep work parks the goroutine in time.Sleep.
//
// It listens with the net package alone, so this is the model to try on a
// Mac; -backlog is then the system's, since only Linux lets listen(2) set
// it again on a listening socket.
package goroutine

import (
	"cmp"
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"iolab/models"
	"iolab/models/internal/sock"
)

// Server is the goroutine-per-connection model.
type Server struct {
	cfg models.Config
}

func init() {
	models.Register(models.Model{
		Name:  "goroutine",
		Waits: "one goroutine per connection; blocked goroutines park in Go's netpoller (epoll) and free their thread",
		Limits: "at -max-conns it stops accepting, and clients wait in the kernel's accept queue. " +
			"A client that stops reading is closed one -idle-timeout after its answers back up (write_timeout).",
		Source: "models/goroutine",
		Build:  func(cfg models.Config) models.Server { return &Server{cfg: cfg} },
	})
}

// Serve accepts in the calling goroutine and serves each connection in a
// new goroutine.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	ln, err := listen(&s.cfg)
	if err != nil {
		return err
	}
	stats := models.NewStats(&s.cfg)
	slots := models.NewSlots(s.cfg.Limit(), stats)
	var drain models.Drain
	var serving sync.WaitGroup

	// The watcher: closing the listener makes the parked Accept return.
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		<-ctx.Done()
		_ = ln.Close()
		drain.Shutdown(s.cfg.ShutdownTimeout)
	}()

	stats.Start("goroutine", &s.cfg, ln.Addr().String())
	ready(ln.Addr())
	var backoff models.AcceptBackoff
	for {
		// A slot first, as in the blocking models: at the limit this
		// goroutine does not accept, and clients wait in the kernel's
		// accept queue.
		if !slots.Acquire(ctx) {
			break
		}
		c, ok := accept(ctx, ln, stats, &backoff)
		if !ok {
			slots.Release()
			break
		}
		track := drain.Add(func(bool) { _ = c.Close() })
		if track == nil {
			_ = c.Close()
			slots.Release()
			continue
		}
		serving.Go(func() {
			s.serveConn(c, stats, &drain, track)
			slots.Release() // after the close is logged, as in package blocking
		})
	}
	<-watched
	serving.Wait()
	stats.Stop("goroutine")
	return nil
}

// accept waits for a client. Accept parks this goroutine in the netpoller
// until one connects; the thread goes on running other goroutines. After
// an error such as EMFILE it logs the error and pauses before trying
// again, since the client is still in the accept queue and an immediate
// retry would fail again, in a spin. It returns false once the listener is
// closed: the server is stopping.
func accept(ctx context.Context, ln net.Listener, stats *models.Stats, backoff *models.AcceptBackoff) (net.Conn, bool) {
	for {
		c, err := ln.Accept()
		if err == nil {
			backoff.Reset()
			return c, true
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, false
		}
		pause := backoff.Next()
		stats.AcceptError(err, pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// serveConn holds the conversation on c. Its Reads and Writes park the
// goroutine, not the thread; the deadlines Converse sets on it are the
// netpoller's timers, and a Write keeps its one deadline across the
// partial writes it makes inside (internal/poll's FD.Write loops).
func (s *Server) serveConn(c net.Conn, stats *models.Stats, drain *models.Drain, track *models.Track) {
	rec := stats.Open(sock.Unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort()), 0)
	reason, err := models.Converse(c, &s.cfg, &rec, track)
	drain.Remove(track)
	_ = c.Close()
	tid := 0
	if stats.Debug() {
		// A goroutine has no thread of its own; this is the thread that
		// happens to run it as it finishes.
		tid = sock.Tid()
	}
	stats.Close(&rec, reason, tid, err)
}

// setBacklog sets the listening socket's backlog. It is a variable so
// that a test can make it fail as it does off Linux.
var setBacklog = sock.SetBacklog

// listen opens the listening socket with the net package, which registers
// it with the netpoller. Its connections get no TCP keep-alive (KeepAlive
// -1): no other model sets one, and the net package's default costs four
// setsockopt(2) calls a connection. net asks for the largest backlog;
// listen(2) again on the listening socket sets the configured one, as the
// gnet model does (Linux takes the new value). Where that is not
// implemented (macOS, say) the backlog stays the system's, and a warning
// says so.
func listen(cfg *models.Config) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) { err = setBacklog(int(fd), cfg.Backlog) })
		err = cmp.Or(cerr, err)
	}
	if errors.Is(err, sock.ErrUnsupported) {
		models.LogListenFallback(cfg.Log, err, cfg.Backlog)
		err = nil
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
