//go:build linux

package fork

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

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
	p := &parent{cfg: &s.cfg, spec: child.SpecOf(&s.cfg), ln: ln, spawner: child.NewSpawner(&s.cfg, ln.Stats()),
		children: make(map[*child.Child]bool), exited: make(chan struct{}, 1)}
	defer p.spawner.Close() // after every child has exited: see child.Spawner
	defer p.stopAll()

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
		p.fork(ctx, c)
	}
}

// parent is the state of the fork model's accepting process.
type parent struct {
	cfg     *models.Config
	spec    child.Spec // what every child serves with, but for its Conn
	ln      *blocking.Listener
	spawner *child.Spawner
	exited  chan struct{} // a child has exited (one token at most): a start may succeed now

	mu       sync.Mutex
	children map[*child.Child]bool // running; guarded by mu
	stopping bool                  // the parent has asked its children to stop; guarded by mu
	reaped   sync.WaitGroup        // one per running child's reaper
}

// fork starts a child to serve c, the parent's half of a C server's
// fork(2): the child gets c as its descriptor 3, and the parent closes its
// own copy.
//
// Starting a child costs the parent descriptors (pipes, a pidfd, the
// child's copy of c until the exec) and the system a process. When either
// runs out (EMFILE, ENFILE, EAGAIN, ENOMEM), the client has done nothing
// wrong: like every other model at its limit, the parent stops accepting
// and keeps the client it holds, and starts its child as soon as another
// child exits (or after a pause, for a shortage outside the server). Only
// the shutdown, or a start that fails for any other reason, closes it
// unserved.
func (p *parent) fork(ctx context.Context, c blocking.Conn) {
	spec := p.spec
	spec.Conn = p.ln.Stats().NextID()
	f := os.NewFile(uintptr(c.Fd), "conn") // the child's descriptor 3
	defer f.Close()                        // the child has its copy; closing ours is the parent's half of close(connfd)
	var backoff models.AcceptBackoff
	for {
		ch, err := p.spawner.Start(role, spec, []*os.File{f}, nil)
		if err == nil {
			p.watch(ch)
			return
		}
		if !outOfResources(err) {
			p.cfg.Log.Error().Err(err).Msg("fork: cannot start a child; the connection is closed")
			p.ln.Release()
			return
		}
		pause := backoff.Next()
		models.LogSpawnError(p.cfg.Log, role, err, pause)
		t := time.NewTimer(pause)
		select {
		case <-p.exited:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			p.ln.Release() // shutting down: this client will not be served
			return
		}
		t.Stop()
	}
}

// outOfResources reports whether a child could not start for want of
// descriptors, processes or memory: a shortage that ends when a child
// exits.
func outOfResources(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.EAGAIN, syscall.ENOMEM} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// watch records ch as running and starts its reaper, which gives the
// connection's slot back once the child is gone.
func (p *parent) watch(ch *child.Child) {
	p.mu.Lock()
	p.children[ch] = true
	p.mu.Unlock()
	p.reaped.Go(func() {
		<-ch.Done() // reaped: exec.Cmd.Wait, waitid(2) on the child's pidfd
		p.mu.Lock()
		delete(p.children, ch)
		asked := p.stopping
		p.mu.Unlock()
		if err := ch.Err(); err != nil && !asked {
			models.LogChildExit(p.cfg.Log, role, ch.Pid, err)
		}
		p.ln.Release() // the connection's slot, held until its child is gone
		select {
		case p.exited <- struct{}{}: // a client waiting for a child may have one now
		default:
		}
	})
}

// stopAll asks every child to finish (SIGTERM: each finishes its request
// in flight) and waits until all are reaped.
func (p *parent) stopAll() {
	p.mu.Lock()
	p.stopping = true
	for c := range p.children {
		c.Signal(syscall.SIGTERM)
	}
	p.mu.Unlock()
	p.reaped.Wait()
}

// serveOne is a child's whole life: serve the connection on descriptor
// 3, log its close and the child's totals, exit.
func serveOne(spec child.Spec) int {
	return child.Serve("fork child", spec, func(ctx context.Context, cfg *models.Config) error {
		conn := &sock.Conn{Fd: child.FirstFile}
		remote, _ := sock.Peer(conn.Fd)
		ln := blocking.Inherit(ctx, cfg, role, -1) // no listener: one connection
		ln.Stats().NumberFrom(spec.Conn)
		runtime.LockOSThread()
		ln.ServeInherited(blocking.Conn{Conn: conn, Remote: remote}) // blocks in read(2)/write(2)
		ln.Close()                                                   // the stop event, which the parent adds to its own
		return nil
	})
}
