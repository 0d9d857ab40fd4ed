//go:build !linux

package prefork

import (
	"context"
	"net"

	"iolab/models/internal/child"
	"iolab/models/internal/sock"
)

// Serve reports that the prefork model is implemented for Linux only.
func (s *Server) Serve(context.Context, func(net.Addr)) error { return sock.ErrUnsupported }

// runWorker is never reached on this system.
func runWorker(child.Spec) int { return 2 }
