//go:build linux

package prefork

import (
	"context"
	"net"
	"os"
	"runtime"
	"sync/atomic"

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

	stats := models.NewStats(&s.cfg)
	limit := &poolLimit{stats: stats}
	limit.size.Store(int64(s.cfg.Workers))
	pool := child.NewPool(role, &s.cfg, stats, child.SpecOf(&s.cfg), limit.busy)

	// Start the pool. A parent short of descriptors or processes starts
	// what it can, says so, and serves with that: each worker costs it
	// three descriptors (the worker's stderr and stdout pipes, and a
	// pidfd with which Go waits for it).
	for range s.cfg.Workers {
		if err := pool.Start(lnFile); err != nil {
			if pool.Len() == 0 {
				pool.Stop()
				return err
			}
			s.cfg.Log.Error().Err(err).Int("workers", pool.Len()).Msg("prefork: serving with the workers started so far")
			break
		}
	}
	pool.AwaitReady(ctx) // each worker's Go runtime up, about to accept
	s.cfg.Workers = pool.Len()
	limit.size.Store(int64(s.cfg.Workers))
	stats.Start("prefork", &s.cfg, bound.String()) // once the pool is up
	ready(net.TCPAddrFromAddrPort(bound))

	pool.Supervise(ctx, func(err error) { // a worker died: it is replaced
		s.cfg.Log.Error().Err(err).Msg("prefork: cannot replace a worker")
	})
	// Shut the shared socket down first: every worker blocked in
	// accept(2) wakes with EINVAL and stops accepting.
	sock.StopAccept(fd)
	pool.Stop() // each worker finishes the request in flight
	stats.Stop("prefork")
	return nil
}

// poolLimit logs max_conns_reached when every worker is busy and
// max_conns_left when one is free again: the pool is the prefork model's
// connection limit. busy is the Pool's hook, which hears the count of
// busy workers as they tell it (child.Busy, child.Idle).
type poolLimit struct {
	stats *models.Stats
	// size is the workers started: set again once the pool is up, while
	// a worker may already be telling.
	size atomic.Int64
}

func (l *poolLimit) busy(n int, more bool) {
	size := int(l.size.Load())
	switch {
	case more && n == size:
		l.stats.LimitReached(n, size)
	case !more && n == size-1:
		l.stats.LimitLeft(n, size)
	}
}

// runWorker is a worker process's whole life: accept on the inherited
// socket, serve, accept again, until SIGTERM or SIGINT.
func runWorker(spec child.Spec) int {
	return child.Serve("prefork worker", spec, func(ctx context.Context, cfg *models.Config) error {
		ln := blocking.Inherit(ctx, cfg, role, child.FirstFile)
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
		return nil
	})
}
