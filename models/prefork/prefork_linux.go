//go:build linux

package prefork

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"iolab/models"
	"iolab/models/internal/blocking"
	"iolab/models/internal/child"
	"iolab/models/internal/sock"
)

// Serve opens the listening socket, starts the workers, and supervises
// them until ctx is done; then it stops them, each finishing the request
// in flight, and waits for every one.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	fd, bound, err := sock.ListenBlocking(s.cfg.Addr, s.cfg.Backlog)
	if err != nil {
		return err
	}
	lnFile := os.NewFile(uintptr(fd), "listener") // closes fd
	defer lnFile.Close()

	p := &parent{cfg: &s.cfg, stats: models.NewStats(&s.cfg), spawner: child.NewSpawner(),
		listener: lnFile, exited: make(chan *worker), quit: make(chan struct{}), size: s.cfg.Workers}
	defer p.spawner.Close() // after every worker has exited: see child.Spawner
	p.relay = child.Relay(s.cfg.Log, p.stats)

	// Start the pool. A parent short of descriptors or processes starts
	// what it can, says so, and serves with that: each worker costs it
	// three descriptors (the worker's stderr and stdout pipes, and a
	// pidfd with which Go waits for it).
	var pool []*child.Child
	for range s.cfg.Workers {
		w, err := p.start()
		if err != nil {
			if len(pool) == 0 {
				p.stopAll(func() {})
				return err
			}
			s.cfg.Log.Error().Err(err).Int("workers", len(pool)).Msg("prefork: serving with the workers started so far")
			break
		}
		pool = append(pool, w.child)
	}
	child.AwaitReady(ctx, pool) // each worker's Go runtime up, about to accept
	started := len(pool)
	p.mu.Lock()
	p.size = started
	p.mu.Unlock()
	s.cfg.Workers = started
	p.stats.Start("prefork", &s.cfg, bound.String()) // once the pool is up
	ready(net.TCPAddrFromAddrPort(bound))

	for {
		select {
		case w := <-p.exited:
			p.forget(w)
			models.LogChildExit(s.cfg.Log, role, w.child.Pid, w.child.Err())
			if _, err := p.start(); err != nil { // a worker died: replace it
				s.cfg.Log.Error().Err(err).Msg("prefork: cannot replace a worker")
			}
		case <-ctx.Done():
			p.stopAll(func() {
				// Shut the shared socket down first: every worker blocked
				// in accept(2) wakes with EINVAL and stops accepting.
				sock.StopAccept(fd)
			})
			p.stats.Stop("prefork")
			return nil
		}
	}
}

// parent is the parent's bookkeeping.
type parent struct {
	cfg      *models.Config
	stats    *models.Stats
	spawner  *child.Spawner
	listener *os.File
	relay    func(pid int, line []byte)
	exited   chan *worker  // a worker has exited, not asked to
	quit     chan struct{} // closed when stopAll begins: exits are expected

	mu      sync.Mutex
	workers map[*worker]bool
	busy    int // workers serving a client, as they report
	size    int // workers started at boot
}

// worker is one worker process, as the parent sees it.
type worker struct {
	child *child.Child
	busy  bool
}

// start starts one worker. The worker tells the parent through its stdout
// when it is up, when it takes a client and when it lets one go (child.Ready,
// child.Busy, child.Idle), so that the parent knows when the pool is full,
// as Apache's scoreboard lets its parent know.
func (p *parent) start() (*worker, error) {
	wk := &worker{}
	hooks := &child.Hooks{State: func(busy bool) { p.state(wk, busy) }, Work: p.cfg.OnWork}
	c, err := p.spawner.Start(role, child.SpecOf(p.cfg), []*os.File{p.listener}, hooks, p.relay)
	if err != nil {
		return nil, err
	}
	wk.child = c
	p.mu.Lock()
	if p.workers == nil {
		p.workers = make(map[*worker]bool)
	}
	p.workers[wk] = true
	p.mu.Unlock()
	go p.watch(wk)
	return wk, nil
}

// state counts a worker busy or idle, as it reports.
func (p *parent) state(w *worker, busy bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case busy && !w.busy:
		w.busy = true
		p.busy++
		if p.busy == p.size {
			p.stats.LimitReached(p.busy, p.size)
		}
	case !busy && w.busy:
		w.busy = false
		p.busy--
		if p.busy == p.size-1 {
			p.stats.LimitLeft(p.busy, p.size)
		}
	}
}

// watch waits for a worker's exit and reports it, unless the parent is
// stopping them all.
func (p *parent) watch(w *worker) {
	<-w.child.Done()
	select {
	case p.exited <- w:
	case <-p.quit:
	}
}

// forget drops a worker that has exited.
func (p *parent) forget(w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.workers, w)
	if w.busy {
		p.busy--
	}
}

// stopAll runs first, then asks every worker to stop (child.Stop: each
// stops accepting and finishes the request in flight within the shutdown
// timeout), and kills those still running a little after that timeout.
func (p *parent) stopAll(first func()) {
	close(p.quit)
	first()
	p.mu.Lock()
	cs := make([]*child.Child, 0, len(p.workers))
	for w := range p.workers {
		cs = append(cs, w.child)
	}
	p.mu.Unlock()
	child.Stop(cs, p.cfg.ShutdownTimeout+time.Second)
}

// runWorker is a worker process's whole life: accept on the inherited
// socket, serve, accept again, until SIGTERM or SIGINT.
func runWorker(spec child.Spec) int {
	cfg, err := spec.Config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "prefork worker: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln := blocking.Inherit(ctx, &cfg, role, child.FirstFile)
	runtime.LockOSThread() // one thread serves, as in sequential
	child.Tell(child.Ready)
	for {
		c, ok := ln.Accept() // blocks in accept4(2), beside the other workers
		if !ok {
			break
		}
		child.Tell(child.Busy) // to the parent, unbuffered
		ln.Serve(c)            // blocks in read(2)/write(2) until the client leaves
		child.Tell(child.Idle)
	}
	ln.Close() // logs the stop event: the parent adds it to its own
	return 0
}
