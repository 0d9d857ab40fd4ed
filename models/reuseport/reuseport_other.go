//go:build !linux

package reuseport

import (
	"context"
	"net"

	"iolab/models/internal/sock"
)

// Serve reports that the multi-reactor is implemented for Linux only.
func (s *Server) Serve(context.Context, func(net.Addr)) error { return sock.ErrUnsupported }
