//go:build linux

package fork

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"iolab/models"
	"iolab/models/internal/blocking"
	"iolab/models/internal/child"
	"iolab/models/internal/sock"
)

// Serve accepts on one locked thread and starts a child per connection,
// until ctx is done; then it asks the children to finish (SIGTERM) and
// waits for every one.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	ln, err := blocking.Listen(ctx, &s.cfg, role, ready)
	if err != nil {
		return err
	}
	defer ln.Close()
	spawner := child.NewSpawner()
	defer spawner.Close() // after every child has exited: see child.Spawner
	relay := child.Relay(s.cfg.Log, ln.Stats())

	var mu sync.Mutex
	children := make(map[*child.Child]bool)
	stopping := false // the parent has asked its children to stop; guarded by mu
	var reaped sync.WaitGroup
	defer func() {
		mu.Lock()
		stopping = true
		for c := range children {
			c.Signal(syscall.SIGTERM) // each finishes its request in flight
		}
		mu.Unlock()
		reaped.Wait()
	}()

	runtime.LockOSThread() // the accepting thread
	defer runtime.UnlockOSThread()
	for {
		c, ok := ln.Accept() // blocks this thread in accept4(2)
		if !ok {
			return nil
		}
		if sock.Gone(c.Fd) {
			// The client reset while it waited in the accept queue, as
			// after a flood: no child for it. Serving it here only reads
			// the reset and logs the close. Otherwise a backlog of such
			// clients would cost a process start each, seconds in all,
			// before a live one behind them is served.
			ln.Serve(c)
			continue
		}
		spec := child.SpecOf(&s.cfg)
		spec.Conn = ln.Stats().NextID()
		f := os.NewFile(uintptr(c.Fd), "conn") // the child's descriptor 3
		// Only tests watch for work (Config.OnWork): then the child tells
		// through its stdout.
		var states, out *os.File
		var stdout io.Writer
		if s.cfg.OnWork != nil {
			if states, out, err = os.Pipe(); err == nil {
				stdout = out
			}
		}
		ch, err := spawner.Start(role, spec, []*os.File{f}, stdout, relay)
		_ = f.Close() // the child has its copy; closing ours is the parent's half of a fork server's close(connfd)
		if out != nil {
			_ = out.Close()
		}
		if err != nil {
			if states != nil {
				_ = states.Close()
			}
			s.cfg.Log.Error().Err(err).Msg("fork: cannot start a child; the connection is closed")
			ln.Release()
			continue
		}
		mu.Lock()
		children[ch] = true
		mu.Unlock()
		reaped.Go(func() {
			if states != nil {
				forwardWork(states, s.cfg.OnWork)
			}
			<-ch.Done() // reaped: exec.Cmd.Wait, waitid(2) on the child's pidfd
			mu.Lock()
			delete(children, ch)
			asked := stopping
			mu.Unlock()
			if err := ch.Err(); err != nil && !asked {
				models.LogChildExit(s.cfg.Log, role, ch.Pid, err)
			}
			ln.Release() // the connection's slot, held until its child is gone
		})
	}
}

// forwardWork calls onWork for each child.WorkBegins the child writes,
// until it closes its end.
func forwardWork(states *os.File, onWork func()) {
	defer states.Close()
	b := make([]byte, 1)
	for {
		if _, err := states.Read(b); err != nil {
			return
		}
		if b[0] == child.WorkBegins {
			onWork()
		}
	}
}

// serveOne is a child's whole life: serve the connection on descriptor
// 3, log its close and the child's totals, exit.
func serveOne(spec child.Spec) int {
	cfg, err := spec.Config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fork child: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	conn := &sock.Conn{Fd: child.FirstFile}
	remote, _ := sock.Peer(conn.Fd)
	ln := blocking.Inherit(ctx, &cfg, role, -1) // no listener: one connection
	ln.Stats().NumberFrom(spec.Conn)
	runtime.LockOSThread()
	ln.ServeInherited(blocking.Conn{Conn: conn, Remote: remote}) // blocks in read(2)/write(2)
	ln.Close()                                                   // the stop event, which the parent adds to its own
	return 0
}
