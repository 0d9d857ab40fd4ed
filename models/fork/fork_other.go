//go:build !linux

package fork

import (
	"context"
	"net"

	"iolab/models/internal/child"
	"iolab/models/internal/sock"
)

// Serve reports that the fork model is implemented for Linux only.
func (s *Server) Serve(context.Context, func(net.Addr)) error { return sock.ErrUnsupported }

// serveOne is never reached on this system.
func serveOne(child.Spec) int { return 2 }
