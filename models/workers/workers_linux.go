//go:build linux

package workers

import (
	"context"
	"net"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/epoll"
	"iolab/models/internal/sock"
)

// Serve runs one event loop with its pool of worker threads until ctx is
// done.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	lfd, bound, err := sock.ListenNonblocking(s.cfg.Addr, s.cfg.Backlog)
	if err != nil {
		return err
	}
	defer unix.Close(lfd)
	stats := models.NewStats(&s.cfg)
	started := false
	err = epoll.Run(ctx, &s.cfg, lfd, epoll.NewLimit(s.cfg.Limit()), s.cfg.Workers, stats, func() {
		started = true
		stats.Start("workers", &s.cfg, bound.String())
		ready(net.TCPAddrFromAddrPort(bound))
	})
	if started {
		stats.Stop("workers")
	}
	return err
}
