//go:build linux

package workers

import (
	"context"
	"net"

	"iolab/models/epoll"
)

// Serve runs one event loop with its pool of worker threads until ctx is
// done: the epoll model's loop, with an offload pool of cfg.Workers.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	return epoll.ServeAs(ctx, "workers", &s.cfg, s.cfg.Workers, ready)
}
