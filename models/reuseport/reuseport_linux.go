//go:build linux

package reuseport

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/epoll"
	"iolab/models/internal/sock"
)

// Serve opens one SO_REUSEPORT listener per loop, runs the loops, as
// threads of this process or (-procs) as processes of their own, and
// waits for all of them to end once ctx is done.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	lfds, bound, err := s.listen()
	defer func() {
		for _, fd := range lfds {
			_ = unix.Close(fd)
		}
	}()
	if err != nil {
		return err
	}
	if s.cfg.Procs {
		files := make([]*os.File, len(lfds))
		for i, fd := range lfds {
			files[i] = os.NewFile(uintptr(fd), "listener") // closes fd from now on
			defer files[i].Close()
		}
		lfds = nil
		return s.serveProcs(ctx, ready, files, bound)
	}
	n := len(lfds)
	// A loop that fails ends them all.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	stats := models.NewStats(&s.cfg)
	// One limit for all the loops. A loop at the limit stops watching its
	// listener; it looks again at every wake-up, its sweep timer's at the
	// latest, once others have closed connections.
	slots := models.NewSlots(s.cfg.Limit(), stats)
	var loops, started sync.WaitGroup
	errs := make(chan error, n)
	started.Add(n)
	for _, fd := range lfds {
		loops.Go(func() {
			once := sync.OnceFunc(started.Done)
			defer once() // a loop that fails to start does not hold the others
			if err := epoll.Run(ctx, &s.cfg, fd, slots, nil, stats, once); err != nil {
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

// listen opens the loops' listeners, all bound to the same port with
// SO_REUSEPORT: the kernel then hashes each incoming connection to one of
// them. On error it returns those it opened, for the caller to close.
func (s *Server) listen() (lfds []int, bound netip.AddrPort, err error) {
	addr := s.cfg.Addr
	for range s.cfg.Workers {
		fd, b, err := sock.ListenReusePort(addr, s.cfg.Backlog)
		if err != nil {
			return lfds, bound, err
		}
		lfds = append(lfds, fd)
		addr, bound = b.String(), b // the next ones bind where the first did
	}
	return lfds, bound, nil
}
