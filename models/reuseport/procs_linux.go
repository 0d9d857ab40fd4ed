//go:build linux

package reuseport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/epoll"
	"iolab/models/internal/child"
)

// serveProcs runs one loop process per listener, as nginx's master runs
// its workers: each process inherits one listening socket (descriptor 3),
// runs the epoll model's loop on it (runLoop), and has its own limit on
// open files, so that together they can hold more connections than one
// process may. The parent serves nothing itself: it keeps the listeners
// open, replaces a loop process that dies (the connections the kernel
// has queued on its listener wait for the new one), relays the children's
// log events, and adds up their totals.
func (s *Server) serveProcs(ctx context.Context, ready func(net.Addr), lns []*os.File, bound netip.AddrPort) error {
	stats := models.NewStats(&s.cfg)
	spawner := child.NewSpawner()
	defer spawner.Close() // after every loop process has exited: see child.Spawner
	relay := child.Relay(s.cfg.Log, stats)
	// A loop process serves with this Config: the limit, if set, shared
	// out; by default each process has its own.
	loop := s.cfg
	if s.cfg.MaxConns > 0 {
		loop.MaxConns = (s.cfg.MaxConns + len(lns) - 1) / len(lns)
	}
	spec := child.SpecOf(&loop)
	hooks := &child.Hooks{Work: s.cfg.OnWork} // and each loop process tells when it is up

	type loopProc struct {
		c  *child.Child
		ln *os.File
	}
	exited := make(chan loopProc)
	quit := make(chan struct{})
	running := map[*child.Child]*os.File{}
	start := func(ln *os.File) error {
		c, err := spawner.Start(role, spec, []*os.File{ln}, hooks, relay)
		if err != nil {
			return err
		}
		running[c] = ln
		go func() {
			<-c.Done()
			select {
			case exited <- loopProc{c, ln}:
			case <-quit:
			}
		}()
		return nil
	}
	stopAll := func() {
		close(quit)
		cs := make([]*child.Child, 0, len(running))
		for c := range running {
			cs = append(cs, c)
		}
		child.Stop(cs, s.cfg.ShutdownTimeout+time.Second)
	}
	for _, ln := range lns {
		if err := start(ln); err != nil {
			stopAll()
			return err
		}
	}
	loops := make([]*child.Child, 0, len(running))
	for c := range running {
		loops = append(loops, c)
	}
	child.AwaitReady(ctx, loops) // each loop's Go runtime up, about to wait in epoll_wait
	cfg := s.cfg
	if loop.MaxConns > 0 {
		cfg.MaxConns = loop.MaxConns * len(lns)
	} else {
		cfg.MaxConns = cfg.Limit() * len(lns) // each process has the limit this one has
	}
	stats.Start("reuseport", &cfg, bound.String())
	ready(net.TCPAddrFromAddrPort(bound))
	for {
		select {
		case p := <-exited:
			delete(running, p.c)
			models.LogChildExit(s.cfg.Log, role, p.c.Pid, p.c.Err())
			if err := start(p.ln); err != nil { // its listener needs a loop
				s.cfg.Log.Error().Err(err).Msg("reuseport: cannot replace a loop process")
			}
		case <-ctx.Done():
			stopAll() // each loop stops accepting and drains, as in one process
			stats.Stop("reuseport")
			return nil
		}
	}
}

// runLoop is a loop process's whole life: the epoll model's loop on the
// inherited listener, until SIGTERM or SIGINT.
func runLoop(spec child.Spec) int {
	cfg, err := spec.Config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "reuseport loop: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// exec.Cmd made the inherited socket blocking (os.File.Fd does), for
	// parent and child alike: they share its open file description. The
	// loop needs it non-blocking, or an accept with nothing queued would
	// block the loop's thread.
	if err := unix.SetNonblock(child.FirstFile, true); err != nil {
		fmt.Fprintf(os.Stderr, "reuseport loop: %v\n", err)
		return 1
	}
	stats := models.NewStats(&cfg)
	err = epoll.Run(ctx, &cfg, child.FirstFile, epoll.NewLimit(cfg.Limit()), 0, stats, func() { child.Tell(child.Ready) })
	stats.Stop("reuseport") // the parent adds it to its own
	if err != nil {
		fmt.Fprintf(os.Stderr, "reuseport loop: %v\n", err)
		return 1
	}
	return 0
}
