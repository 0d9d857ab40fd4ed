//go:build linux

package reuseport

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/epoll"
	"iolab/models/internal/sock"
)

// Serve opens one SO_REUSEPORT listener per loop, runs the loops, and
// waits for all of them to end once ctx is done.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	n := s.cfg.Workers
	lfds := make([]int, 0, n)
	defer func() {
		for _, fd := range lfds {
			_ = unix.Close(fd)
		}
	}()
	addr := s.cfg.Addr
	var bound netip.AddrPort
	for range n {
		fd, b, err := sock.ListenReusePort(addr, s.cfg.Backlog)
		if err != nil {
			return err
		}
		lfds = append(lfds, fd)
		addr, bound = b.String(), b // the next ones bind where the first did
	}
	// A loop that fails ends them all.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	stats := models.NewStats(&s.cfg)
	// One limit for all the loops. A loop at the limit stops watching its
	// listener; it looks again at every wake-up, its sweep timer's at the
	// latest, once others have closed connections.
	limit := epoll.NewLimit(s.cfg.Limit())
	var loops, started sync.WaitGroup
	errs := make(chan error, n)
	started.Add(n)
	for _, fd := range lfds {
		loops.Go(func() {
			once := sync.OnceFunc(started.Done)
			defer once() // a loop that fails to start does not hold the others
			if err := epoll.Run(ctx, &s.cfg, fd, limit, 0, stats, once); err != nil {
				errs <- err
				cancel()
			}
		})
	}
	started.Wait()
	stats.Start("reuseport", &s.cfg, bound.String())
	ready(net.TCPAddrFromAddrPort(bound))
	loops.Wait()
	stats.Stop("reuseport")
	close(errs)
	return <-errs // the first error, or nil
}
