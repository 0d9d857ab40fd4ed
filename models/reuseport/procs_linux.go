//go:build linux

package reuseport

import (
	"context"
	"net"
	"net/netip"
	"os"

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
	// A loop process serves with this Config: the limit, if set, shared
	// out; by default each process has its own.
	loop := s.cfg
	if s.cfg.MaxConns > 0 {
		loop.MaxConns = (s.cfg.MaxConns + len(lns) - 1) / len(lns)
	}
	spec := child.SpecOf(&loop)
	// No count of busy children: a loop serves many clients at once, and
	// tells its parent only that it is up.
	pool := child.NewPool(role, &s.cfg, stats, spec, nil)
	for _, ln := range lns {
		if err := pool.Start(ln); err != nil {
			pool.Stop()
			return err
		}
	}
	pool.AwaitReady(ctx) // each loop's Go runtime up, about to wait in epoll_wait
	cfg := s.cfg
	if loop.MaxConns > 0 {
		cfg.MaxConns = loop.MaxConns * len(lns)
	} else {
		cfg.MaxConns = cfg.Limit() * len(lns) // each process has the limit this one has
	}
	stats.Start("reuseport", &cfg, bound.String())
	ready(net.TCPAddrFromAddrPort(bound))
	pool.Supervise(ctx, func(err error) { // its listener needs a loop
		s.cfg.Log.Error().Err(err).Msg("reuseport: cannot replace a loop process")
	})
	pool.Stop() // each loop stops accepting and drains, as in one process
	stats.Stop("reuseport")
	return nil
}

// runLoop is a loop process's whole life: the epoll model's loop on the
// inherited listener, until SIGTERM or SIGINT.
func runLoop(spec child.Spec) int {
	return child.Serve("reuseport loop", spec, func(ctx context.Context, cfg *models.Config) error {
		// exec.Cmd made the inherited socket blocking (os.File.Fd does),
		// for parent and child alike: they share its open file
		// description. The loop needs it non-blocking, or an accept with
		// nothing queued would block the loop's thread.
		if err := unix.SetNonblock(child.FirstFile, true); err != nil {
			return err
		}
		stats := models.NewStats(cfg)
		err := epoll.Run(ctx, cfg, child.FirstFile, models.NewSlots(cfg.Limit(), stats), nil, stats, func() { child.Tell(child.Ready) })
		stats.Stop("reuseport") // the parent adds it to its own
		return err
	})
}
